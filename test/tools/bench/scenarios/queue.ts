import { auth, type Api, type User } from '../api'
import { EXHAUSTED, type Operation } from '../driver'
import { json } from '../http-client'
import { mapLimit } from '../driver'
import { measureSameWorkJoin } from '../ceilings'
import { signUserToken, type WrkPlan } from '../wrk'
import { deriveQueueTokenSecret, queueTokens } from '../../../../src/waiting-room/queue-token'
import { connection, Dealer, encodeFor, measure, ticketOf, wrkDrives, type Context, type Row } from './common'
import type { ScenarioName } from '../options'

// The waiting-room scenarios, on an instance with the queue limits as configured, so that a line builds
// up: `join` (every operation a new user at the back of one line) and `poll` (those users asking for
// their status, nearly all of them WAITING far back in the line).

export interface QueueSetup {
  /** The line of the HTTP joins, and the line of the direct joins (same size, so the same costs). */
  httpConcert: string
  storeConcert: string
  /** Users with a dev token who have not joined yet. */
  fresh: User[]
  /** Filled by join: the users who joined over HTTP, with their queue tokens. */
  joined: User[]
}

export async function prepareQueue(ctx: Context, api: Api): Promise<QueueSetup> {
  const httpConcert = (await api.createConcert('bench line', [{ seatCount: 1000, price: 1000 }])).concertId
  const storeConcert = (await api.createConcert('bench line (direct)', [{ seatCount: 1000, price: 1000 }])).concertId
  // Each HTTP join needs a user who has not joined yet (in this store's line; the tokens themselves are
  // shared by the stores of a run). Too few users ends the run early (reported), too many costs seeding.
  const perSecond = 8000
  const seconds = (ctx.settings.warmupMs + ctx.settings.durationMs) / 1000 + ctx.settings.rounds * 0.3
  // wrk's joiners carry tokens the bench signs itself; the in-repo driver's ask the instance for theirs.
  const fresh = wrkDrives(ctx.settings) ? [] : await api.users('joiner', Math.ceil(perSecond * seconds))
  if (fresh.length) ctx.log(`  seeded: ${fresh.length} users with dev tokens for join`)
  // The front of the HTTP line, joined by the bench so their queue tokens are known: the admission job
  // makes them ACTIVE, and the round-trip count reads the catalogue as them (wrk's joiners stay anonymous).
  const front = await api.users('front', 50, { join: httpConcert })
  return { httpConcert, storeConcert, fresh, joined: [...front] }
}

export async function join(ctx: Context, setup: QueueSetup): Promise<Row> {
  const users = new Dealer(setup.fresh)
  let direct = 0
  let wrkJoined = 0
  // Single-use users with tokens the bench signs itself: hundreds of thousands per run.
  const wrk: WrkPlan = {
    expected: [201],
    singleUse: true,
    perSecond: 80_000,
    requests(count) {
      const out: Buffer[] = []
      for (let k = 0; k < count; k++) {
        const user = { userId: `wrk-joiner-${wrkJoined++}`, token: '' }
        user.token = signUserToken(ctx.authSecret, user.userId)
        out.push(encodeFor(ctx, { method: 'POST', path: '/v1/queue/tokens', headers: auth(user), body: { concertId: setup.httpConcert } }))
      }
      return out
    },
  }
  const row = await measure(ctx, {
    name: 'join',
    requestsPerOp: 1,
    http: (): Operation => {
      const c = connection(ctx)
      return async () => {
        const user = users.take()
        if (user === EXHAUSTED) return EXHAUSTED
        const response = await c.call(
          { method: 'POST', path: '/v1/queue/tokens', headers: auth(user), body: { concertId: setup.httpConcert } },
          [201],
        )
        setup.joined.push({ ...user, queueToken: json<{ token: string }>(response).token })
      }
    },
    store: (): Operation => async () => {
      const joined = await ctx.store.join(setup.storeConcert, `ceil-joiner-${direct++}`, ctx.limits)
      if (joined === 'SOLD_OUT' || !joined.created) throw new Error('store: join did not make a new place')
    },
    wrk,
    notes: () => [`${users.used + wrkJoined} users prepared for joining over HTTP, ${direct} joined directly (each its own line; 50 joined the HTTP line before)`],
  })
  // The same plan goes on making users the app has not seen: the floor joins new users too.
  if (ctx.redisUrl !== null && row.driver === 'wrk') row.notes.push(await sameWorkNote(ctx, setup, row, wrk))
  return row
}

/** The join beside its floor: the same requests to bare Elysia doing only the work a join needs. */
async function sameWorkNote(ctx: Context, setup: QueueSetup, row: Row, plan: WrkPlan): Promise<string> {
  const seconds = Math.max(1, Math.round(ctx.settings.durationMs / ctx.settings.rounds / 1000))
  const floor = await measureSameWorkJoin({ redisUrl: ctx.redisUrl!, authSecret: ctx.authSecret, logDir: ctx.logDir, plan, connections: ctx.settings.concurrency, seconds, concertId: setup.httpConcert })
  const failed = Object.entries(floor.statuses).filter(([status]) => status !== '201')
  row.sameWorkRps = failed.length ? null : floor.rps
  row.sameWorkCpuUsPerRequest = failed.length ? null : floor.cpuUsPerRequest
  if (failed.length) return `same-work ceiling (same-work-server.ts) failed: ${JSON.stringify(floor.statuses)}`
  const bare = row.rps / row.share // bare Elysia's req/s beside the scenario
  const cpu = floor.cpuUsPerRequest !== null && row.appCpuUsPerRequest != null ? `; CPU ${floor.cpuUsPerRequest.toFixed(1)} us a request against our ${row.appCpuUsPerRequest.toFixed(1)}` : ''
  const line = `same work without our code (same-work-server.ts: bearer check, JSON body, one Redis script, queue token): ${Math.round(floor.rps)} req/s, p99 ${floor.p99Ms.toFixed(1)} ms, share of bare Elysia ${(floor.rps / bare).toFixed(3)}; ours ${(row.rps / floor.rps).toFixed(2)} of it${cpu}`
  ctx.log(`  join: ${line}`)
  return line
}

export async function poll(ctx: Context, api: Api, setup: QueueSetup): Promise<Row> {
  // Users behind the first QUEUE_MAX_ACTIVE places can never be admitted while those are active: they
  // stay WAITING for the whole run. A short line (few joins) polls its back half instead.
  const enough = ctx.settings.concurrency * 8
  let late: User[] = []
  if (setup.joined.length < ctx.limits.maxActive + enough) {
    // wrk's joiners are not known one by one: these join now, behind everyone who joined in `join`.
    const users = Array.from({ length: Math.max(2048, enough) }, (_, k) => ({ userId: `poller-${k}`, token: signUserToken(ctx.authSecret, `poller-${k}`) }))
    late = await mapLimit(users, 64, async (u) => ({ ...u, queueToken: (await api.join(u, setup.httpConcert)).token }))
    setup.joined.push(...late)
  }
  const pollers = late.length
    ? late
    : setup.joined.length >= ctx.limits.maxActive + enough
      ? setup.joined.slice(ctx.limits.maxActive)
      : setup.joined.slice(Math.floor(setup.joined.length / 2))
  if (pollers.length < ctx.settings.concurrency) throw new Error('poll needs the users of join')
  return pollsOf(ctx, 'poll', pollers, (answers) =>
    late.length
      ? `${pollers.length} users who joined after everyone of join poll`
      : `${setup.joined.length} users in the line, the ${pollers.length} at its back poll; HTTP answers: ${answers}`,
  )
}

/** A row of status polls by `pollers`, each in turn: over HTTP, through the store directly, and by wrk. */
function pollsOf(ctx: Context, name: ScenarioName, pollers: User[], note: (answers: string) => string): Promise<Row> {
  const states: Record<string, number> = {}
  return measure(ctx, {
    name,
    requestsPerOp: 1,
    http: (w): Operation => {
      const c = connection(ctx)
      const mine = pollers.filter((_, i) => i % ctx.settings.concurrency === w)
      const requests = mine.map((u) => c.encode({ method: 'GET', path: '/v1/queue/status', headers: auth(u) }))
      let i = 0
      return async () => {
        const response = await c.call(requests[i++ % requests.length]!, [200])
        const status = /"status":"([A-Z_]+)"/.exec(response.text)?.[1] ?? '?'
        states[status] = (states[status] ?? 0) + 1
      }
    },
    store: (w): Operation => {
      const tickets = pollers.filter((_, i) => i % ctx.settings.concurrency === w).map(ticketOf)
      let i = 0
      return async () => {
        await ctx.store.poll(tickets[i++ % tickets.length]!, ctx.limits)
      }
    },
    wrk: {
      expected: [200],
      requests: () => pollers.map((u) => encodeFor(ctx, { method: 'GET', path: '/v1/queue/status', headers: auth(u) })),
    },
    notes: () => [note(Object.entries(states).map(([k, v]) => `${k} ${v}`).join(', '))],
  })
}

/**
 * Users in the crowd of `poll-crowd`: more than an instance's memos of verified tokens hold (10,000 each,
 * src/memo.ts), few enough that the run goes through all of them several times.
 */
export const CROWD = 60_000

/**
 * `poll-crowd`: a sale's crowd, each of CROWD waiting users polling in turn, as a real line does (`poll`
 * cycles through a few thousand): what an instance behind a load balancer sees in a big sale, more users
 * than it can remember the tokens of. The places are made through the store directly and their queue
 * tokens signed here, with the instance's secret; every user polls once, in another order, before the
 * measured window, as each would have polled before in a line that has been waiting a while.
 */
export async function pollCrowd(ctx: Context, api: Api): Promise<Row> {
  const concertId = (await api.createConcert('bench crowd', [{ seatCount: 1000, price: 1000 }])).concertId
  const tokens = queueTokens(deriveQueueTokenSecret(ctx.authSecret))
  const started = performance.now()
  const crowd = await mapLimit(
    Array.from({ length: CROWD }, (_, k) => `crowd-${k}`),
    256,
    async (userId): Promise<User> => {
      const joined = await ctx.store.join(concertId, userId, ctx.limits)
      if (joined === 'SOLD_OUT') throw new Error('poll-crowd: the line is sold out')
      return { userId, token: signUserToken(ctx.authSecret, userId), queueToken: tokens.sign({ concertId, userId, seq: joined.seq }) }
    },
  )
  // Behind the first QUEUE_MAX_ACTIVE places everyone stays WAITING for the run.
  const pollers = crowd.slice(ctx.limits.maxActive)
  const shuffled = pollers.map((u) => ({ u, r: Math.random() })).sort((a, b) => a.r - b.r).map(({ u }) => u)
  await mapLimit(shuffled, ctx.settings.concurrency, (u) => api.status(u))
  ctx.log(`  seeded: ${CROWD} places in one line through the store, each polled once, in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  return pollsOf(
    ctx,
    'poll-crowd',
    pollers,
    () => `${pollers.length} users waiting in one line of ${CROWD} poll in turn, after one poll each in another order (the first ${ctx.limits.maxActive} places are left out: they are admitted)`,
  )
}
