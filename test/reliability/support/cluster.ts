import { RedisClient } from 'bun'
import { userTokens } from '../../../src/identity/user-tokens'
import { ADMIN_KEY, TEST_SECRET } from '../../support/app'
import { createTestDatabase, type TestDatabase } from '../../support/database'
import { startInstance, stopInstances, type Instance } from '../../support/instances'
import { newConcert, type ConcertShape } from '../../support/scenario'
import { serviceUrl } from '../../support/services'

// Real app processes for the reliability checks: N instances on their own ports, one fresh Postgres
// database, one Redis (the machine's, or whatever URL the test puts in front of it). Every concert the
// cluster creates is remembered so that its Redis keys can be deleted afterwards.

export interface Reply {
  status: number
  headers: Headers
  body: any
  text: string
  ms: number
  /** Set when no HTTP answer came back (connection refused or reset). */
  error?: string
}

export interface Request {
  method?: string
  token?: string
  queueToken?: string
  body?: unknown
  rawBody?: string | ReadableStream<Uint8Array>
  headers?: Record<string, string>
  timeoutMs?: number
}

/** One request; never throws: a network failure is status 0 with `error`. */
export async function send(base: string, path: string, r: Request = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...r.headers }
  if (r.token) headers.authorization = `Bearer ${r.token}`
  if (r.queueToken) headers['x-queue-token'] = r.queueToken
  let body: string | ReadableStream<Uint8Array> | undefined = r.rawBody
  if (r.body !== undefined) body = JSON.stringify(r.body)
  if (body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json'
  const started = performance.now()
  try {
    const response = await fetch(`${base}${path}`, {
      method: r.method ?? (body !== undefined ? 'POST' : 'GET'),
      headers,
      body,
      signal: AbortSignal.timeout(r.timeoutMs ?? 30_000),
    })
    const text = await response.text()
    let parsed: any = text
    try {
      parsed = JSON.parse(text)
    } catch {}
    return { status: response.status, headers: response.headers, body: parsed, text, ms: performance.now() - started }
  } catch (error) {
    return { status: 0, headers: new Headers(), body: null, text: '', ms: performance.now() - started, error: String(error) }
  }
}

/** Runs `work` over `items` with at most `concurrency` at once. */
export async function pool<T, R>(items: T[], concurrency: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length)
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const i = next++
        results[i] = await work(items[i]!, i)
      }
    }),
  )
  return results
}

export const issuer = userTokens(TEST_SECRET)

export interface Shopper {
  userId: string
  token: string
  queueToken: string
}

export interface ClusterOptions {
  instances?: number
  env?: Record<string, string>
  /** Redis URL the instances use (e.g. a proxy); the machine's REDIS_URL by default; null = Postgres store. */
  redisUrl?: string | null
  /** Postgres server URL the instances use (e.g. a proxy in front of it); the database name is replaced. */
  databaseServerUrl?: string
}

// Defaults for load: no rate limit (the limiter has its own check), no request log lines.
const BASE_ENV = {
  RATE_LIMIT_PER_SECOND: '0',
  LOG_REQUESTS: 'false',
  DATABASE_POOL_SIZE: '10',
  QUEUE_MAX_ACTIVE: '100000',
  QUEUE_ADMIT_PER_SECOND: '100000',
}

export async function startCluster(options: ClusterOptions = {}) {
  const db: TestDatabase = await createTestDatabase(serviceUrl('DATABASE_URL')!)
  const redisUrl = options.redisUrl === undefined ? serviceUrl('REDIS_URL')! : options.redisUrl
  const instanceDbUrl = (() => {
    if (!options.databaseServerUrl) return db.url
    const url = new URL(options.databaseServerUrl)
    url.pathname = new URL(db.url).pathname
    return url.toString()
  })()
  const env: Record<string, string> = {
    ...BASE_ENV,
    DATABASE_URL: instanceDbUrl,
    ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
    ...options.env,
  }
  const instances: Instance[] = await Promise.all(Array.from({ length: options.instances ?? 3 }, () => startInstance(env)))
  const concerts: string[] = []

  const cluster = {
    db,
    env,
    instances,
    /** The i-th instance, round robin. */
    at: (i: number) => instances[i % instances.length]!,
    url: (i: number) => instances[i % instances.length]!.url,
    async startAnother(extra: Record<string, string> = {}) {
      const instance = await startInstance({ ...env, ...extra })
      instances.push(instance)
      return instance
    },

    async createConcert(shape: ConcertShape = {}) {
      const reply = await send(instances[0]!.url, '/v1/admin/concerts', {
        headers: { 'x-admin-key': ADMIN_KEY },
        body: newConcert({ title: 'Reliability concert', ...shape }),
      })
      if (reply.status !== 201) throw new Error(`createConcert: ${reply.status} ${reply.text}`)
      concerts.push(reply.body.concertId)
      return { concertId: reply.body.concertId as string, scheduleIds: reply.body.schedules.map((s: any) => s.scheduleId) as string[] }
    },

    /** Joins on instance `i` and polls (round robin) until ACTIVE; throws after `withinMs`. */
    async admit(userId: string, concertId: string, i = 0, withinMs = 20_000): Promise<Shopper> {
      const token = await issuer.issue(userId)
      const joined = await send(cluster.url(i), '/v1/queue/tokens', { token, body: { concertId } })
      if (joined.status !== 201 && joined.status !== 200) throw new Error(`join ${userId}: ${joined.status} ${joined.text}`)
      const shopper = { userId, token, queueToken: joined.body.token as string }
      const started = Date.now()
      let status = joined.body.status
      for (let k = 1; status !== 'ACTIVE'; k++) {
        if (Date.now() - started > withinMs) throw new Error(`${userId} not ACTIVE after ${withinMs} ms (${status})`)
        await Bun.sleep(250)
        const polled = await send(cluster.url(i + k), '/v1/queue/status', shopper)
        status = polled.body?.status
      }
      return shopper
    },

    async charge(i: number, token: string, amount: number, key?: string) {
      return send(cluster.url(i), '/v1/balance/charges', { token, body: { amount }, headers: key ? { 'idempotency-key': key } : {} })
    },
    async hold(i: number, s: Shopper, scheduleId: string, seatNumber: number) {
      return send(cluster.url(i), '/v1/reservations', { ...s, body: { scheduleId, seatNumber } })
    },
    async pay(i: number, s: Shopper, reservationId: string, key?: string) {
      return send(cluster.url(i), '/v1/payments', { ...s, body: { reservationId }, headers: key ? { 'idempotency-key': key } : {} })
    },

    async stop() {
      await stopInstances(instances)
      if (redisUrl) await deleteConcertKeys(serviceUrl('REDIS_URL')!, concerts)
      await db.drop()
    },
  }
  return cluster
}

export type Cluster = Awaited<ReturnType<typeof startCluster>>

/** Deletes the waiting-room keys of these concerts (store prefix `wr`) and their registry entries. */
export async function deleteConcertKeys(redisUrl: string, concertIds: string[]) {
  if (concertIds.length === 0) return
  const client = new RedisClient(redisUrl)
  try {
    for (const concertId of concertIds) {
      let cursor = '0'
      do {
        const [next, keys] = (await client.send('SCAN', [cursor, 'MATCH', `wr:{${concertId}}:*`, 'COUNT', '1000'])) as [string, string[]]
        if (keys.length > 0) await client.send('UNLINK', keys)
        cursor = next
      } while (cursor !== '0')
    }
    await client.send('SREM', ['wr:lines', ...concertIds])
  } finally {
    client.close()
  }
}

/** Counts of each status (0 = no answer). */
export function tally(replies: { status: number }[]): Record<number, number> {
  const out: Record<number, number> = {}
  for (const r of replies) out[r.status] = (out[r.status] ?? 0) + 1
  return out
}
