import { RedisClient } from 'bun'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { StoreKind } from './scenarios/common'
import { freePort } from '../../support/ports'
import { repoRoot, spawnChild, type Child } from './processes'

// The waiting-room store under test, selected by environment exactly as the service selects it:
// postgres = neither Redis variable; redis-tcp = REDIS_URL; redis-rest = UPSTASH_REDIS_REST_URL/_TOKEN,
// pointing at a local Upstash-compatible REST front (test/tools/redis-rest.ts) that the bench starts over
// the same Redis. The bench keeps its keys in a logical database of its own (--redis-db), so that the
// admission job of its instances never sees the lines of anyone else using that Redis.

export const ALL_STORES: StoreKind[] = ['postgres', 'redis-tcp', 'redis-rest']

const REST_FRONT = join(repoRoot, 'test', 'tools', 'redis-rest.ts')

export interface StoreRuntime {
  kind: StoreKind
  /** Added to the app's environment. */
  appEnv: Record<string, string>
  /** EVALSHA + EVAL calls on the Redis server so far (server-wide); null for the Postgres store. */
  scriptCalls: (() => Promise<number>) | null
  /** Removes the bench's keys of these concerts (Redis stores). */
  forget(concertIds: string[]): Promise<void>
  stop(): Promise<void>
}

export function benchRedisUrl(redisUrl: string, db: number): string {
  const url = new URL(redisUrl)
  url.pathname = `/${db}`
  return url.toString()
}

/** Which of the requested stores can run here, and why the others cannot. */
export async function availableStores(requested: StoreKind[], redisUrl: string | null) {
  const run: StoreKind[] = []
  const skipped: { kind: StoreKind; reason: string }[] = []
  let redisUp: string | null = null
  if (redisUrl) {
    const client = new RedisClient(redisUrl, { connectionTimeout: 2000, autoReconnect: false })
    try {
      await client.send('PING', [])
    } catch (error) {
      redisUp = `Redis at REDIS_URL is unreachable (${error instanceof Error ? error.message : String(error)})`
    } finally {
      client.close()
    }
  } else redisUp = 'REDIS_URL is not set'
  for (const kind of requested) {
    if (kind === 'postgres') run.push(kind)
    else if (redisUp) skipped.push({ kind, reason: redisUp })
    else if (kind === 'redis-rest' && !existsSync(REST_FRONT)) skipped.push({ kind, reason: 'test/tools/redis-rest.ts is missing' })
    else run.push(kind)
  }
  return { run, skipped }
}

export async function redisVersion(redisUrl: string): Promise<string | null> {
  const client = new RedisClient(redisUrl, { connectionTimeout: 2000, autoReconnect: false })
  try {
    const info = String(await client.send('INFO', ['server']))
    return /redis_version:([^\r\n]+)/.exec(info)?.[1] ?? null
  } catch {
    return null
  } finally {
    client.close()
  }
}

export async function startStore(kind: StoreKind, o: { redisUrl: string | null; redisDb: number; logDir: string }): Promise<StoreRuntime> {
  if (kind === 'postgres') {
    return { kind, appEnv: {}, scriptCalls: null, forget: async () => {}, stop: async () => {} }
  }
  const url = benchRedisUrl(o.redisUrl!, o.redisDb)
  const client = new RedisClient(url, { connectionTimeout: 2000 })
  let front: Child | null = null
  let appEnv: Record<string, string> = { REDIS_URL: url }
  if (kind === 'redis-rest') {
    const port = freePort()
    const token = `bench-${crypto.randomUUID()}`
    front = await spawnChild({
      name: 'redis-rest-front',
      argv: ['bun', REST_FRONT],
      env: { ...cleanEnv(), PORT: String(port), HOST: '127.0.0.1', REDIS_URL: url, TOKEN: token },
      port,
      logDir: o.logDir,
      ready: async () => {
        const response = await fetch(`http://127.0.0.1:${port}/`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}` },
          body: JSON.stringify(['PING']),
          signal: AbortSignal.timeout(2000),
        })
        await response.arrayBuffer()
        return response.ok
      },
    })
    appEnv = { UPSTASH_REDIS_REST_URL: `http://127.0.0.1:${port}`, UPSTASH_REDIS_REST_TOKEN: token }
  }
  return {
    kind,
    appEnv,
    async scriptCalls() {
      const info = String(await client.send('INFO', ['commandstats']))
      let calls = 0
      for (const match of info.matchAll(/^cmdstat_(evalsha|eval|evalsha_ro|eval_ro):calls=(\d+)/gm)) calls += Number(match[2])
      return calls
    },
    async forget(concertIds) {
      for (const concertId of concertIds) {
        let cursor = '0'
        do {
          const [next, keys] = (await client.send('SCAN', [cursor, 'MATCH', `wr:{${concertId}}:*`, 'COUNT', '1000'])) as [string, string[]]
          if (keys.length) await client.send('DEL', keys)
          cursor = next
        } while (cursor !== '0')
        await client.send('SREM', ['wr:lines', concertId])
      }
    },
    async stop() {
      await front?.stop()
      client.close()
    },
  }
}

/** The bench's environment without the variables that choose a database or store for a child. */
export function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined) continue
    if (/^(DATABASE_URL|REDIS_URL|UPSTASH_REDIS_REST_URL|UPSTASH_REDIS_REST_TOKEN|PORT|DATA_DIR)$/.test(k)) continue
    env[k] = v
  }
  return env
}
