import { auth, type Api, type User } from '../api'
import { EXHAUSTED, type Operation } from '../driver'
import { json } from '../http-client'
import { connection, Dealer, measure, ticketOf, type Context, type Row } from './common'

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
  const fresh = await api.users('joiner', Math.ceil(perSecond * seconds))
  ctx.log(`  seeded: ${fresh.length} users with dev tokens for join`)
  return { httpConcert, storeConcert, fresh, joined: [] }
}

export async function join(ctx: Context, setup: QueueSetup): Promise<Row> {
  const users = new Dealer(setup.fresh)
  let direct = 0
  return measure(ctx, {
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
    notes: () => [`${users.used} users joined over HTTP, ${direct} directly (each its own line, both empty at the start)`],
  })
}

export async function poll(ctx: Context, setup: QueueSetup): Promise<Row> {
  // Users behind the first QUEUE_MAX_ACTIVE places can never be admitted while those are active: they
  // stay WAITING for the whole run. A short line (few joins) polls its back half instead.
  const enough = ctx.settings.concurrency * 8
  const pollers =
    setup.joined.length >= ctx.limits.maxActive + enough
      ? setup.joined.slice(ctx.limits.maxActive)
      : setup.joined.slice(Math.floor(setup.joined.length / 2))
  if (pollers.length < ctx.settings.concurrency) throw new Error('poll needs the users of join')
  const states: Record<string, number> = {}
  return measure(ctx, {
    name: 'poll',
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
    notes: () => [
      `${setup.joined.length} users in the line, the ${pollers.length} at its back poll; HTTP answers: ${Object.entries(states).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    ],
  })
}
