import { auth, type Api, type QueueStatus, type User } from '../api'
import { mapLimit, percentile, sleep } from '../driver'
import { describeFailure, type HttpRequest, type HttpResponse, json } from '../http-client'
import { sampleRss } from '../processes'
import type { Context, Row } from './common'

// sellout: U users join one concert at once; the admission job runs as configured; every admitted user
// lists the free seats, holds a random one (another on SEAT_UNAVAILABLE) and pays. Users obey pollAfterMs
// as clients must. The bound is the admission rate: the last seat cannot be sold before
// seats / QUEUE_ADMIT_PER_SECOND seconds, so time to sell out / that bound should stay near 1.

const PRICE = 1000

type Outcome = 'bought' | QueueStatus['status'] | 'failed'

export async function sellout(ctx: Context, api: Api, o: { seats: number; users: number }): Promise<Row> {
  const { concertId, scheduleIds } = await api.createConcert('bench sellout', [{ seatCount: o.seats, price: PRICE }])
  const scheduleId = scheduleIds[0]!
  const users = await api.users('buyer', o.users, { balance: PRICE * 2 })

  const latencies: number[] = []
  const failures: Record<string, number> = {}
  let sold = 0
  let noSeatRetries = 0
  let rateLimited = 0
  let lastSaleAt = 0
  let signalSoldOut: () => void = () => {}
  const soldOut = new Promise<void>((resolve) => (signalSoldOut = resolve))
  let finished = false
  soldOut.then(() => (finished = true))

  const request = async (r: HttpRequest): Promise<HttpResponse> => {
    const t0 = performance.now()
    const response = await api.pool.request(r)
    latencies.push(performance.now() - t0)
    return response
  }
  const expect = async (r: HttpRequest, statuses: number[]) => {
    const response = await request(r)
    if (!statuses.includes(response.status)) throw new Error(`${r.method} ${r.path.replace(/[0-9a-f-]{36}/g, ':id')} ${describeFailure(response)}`)
    return response
  }

  /** Why a user's booking was refused with 403: the line sold out (or the session ended) meanwhile. */
  async function settle(user: User): Promise<Outcome> {
    return json<QueueStatus>(await expect({ method: 'GET', path: '/v1/queue/status', headers: auth(user) }, [200])).status
  }

  /** 429: the per-user rate limit; a client waits as Retry-After says (at least a second) and goes on. */
  async function limited() {
    rateLimited++
    await Promise.race([sleep(1000), soldOut])
  }

  async function buy(user: User): Promise<Outcome> {
    look: for (;;) {
      const listing = await expect({ method: 'GET', path: `/v1/schedules/${scheduleId}/seats?available=true`, headers: auth(user) }, [200, 403, 429])
      if (listing.status === 429) {
        await limited()
        if (finished) return 'SOLD_OUT'
        continue
      }
      if (listing.status === 403) return settle(user)
      const free = json<{ number: number }[]>(listing).map((s) => s.number)
      while (free.length > 0) {
        const [seatNumber] = free.splice(Math.floor(Math.random() * free.length), 1)
        const held = await expect({ method: 'POST', path: '/v1/reservations', headers: auth(user), body: { scheduleId, seatNumber } }, [201, 403, 409, 429])
        if (held.status === 403) return settle(user)
        if (held.status === 409) continue
        if (held.status === 429) {
          await limited()
          if (finished) return 'SOLD_OUT'
          continue look // the seat map has changed in the meantime
        }
        const { reservationId } = json<{ reservationId: string }>(held)
        // The same Idempotency-Key on every attempt: a retry after 429 can never pay twice.
        const payment = { method: 'POST' as const, path: '/v1/payments', headers: { ...auth(user), 'idempotency-key': `pay-${reservationId}` }, body: { reservationId } }
        while ((await expect(payment, [201, 429])).status === 429) await sleep(1000).then(() => rateLimited++)
        sold++
        lastSaleAt = performance.now()
        if (sold === o.seats) signalSoldOut()
        return 'bought'
      }
      // Every seat is held by someone who is paying now; one may come free again. Look again shortly.
      noSeatRetries++
      await Promise.race([sleep(200), soldOut])
      if (finished) return 'SOLD_OUT'
    }
  }

  async function buyer(user: User): Promise<Outcome> {
    try {
      const joined = json<QueueStatus & { token: string }>(
        await expect({ method: 'POST', path: '/v1/queue/tokens', headers: auth(user), body: { concertId } }, [201, 409]),
      )
      if (!joined.token) return 'SOLD_OUT' // 409 SOLD_OUT: the sale ended before this user came
      user.queueToken = joined.token
      let status: QueueStatus = joined
      for (;;) {
        if (status.status === 'ACTIVE') return await buy(user)
        if (status.status !== 'WAITING') return status.status
        await Promise.race([sleep(status.pollAfterMs), soldOut])
        if (finished) return 'SOLD_OUT'
        status = json(await expect({ method: 'GET', path: '/v1/queue/status', headers: auth(user) }, [200]))
      }
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error)
      failures[message] = (failures[message] ?? 0) + 1
      return 'failed'
    }
  }

  const boundSeconds = o.seats / ctx.limits.admitPerSecond
  const stopRss = sampleRss(ctx.appPid)
  const startedAt = performance.now()
  let timer: ReturnType<typeof setTimeout> | undefined
  const giveUp = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), (boundSeconds * 5 + 30) * 1000)))
  const all = mapLimit(users, users.length, buyer)
  const outcome = await Promise.race([all, giveUp])
  clearTimeout(timer)
  const rssMb = stopRss()
  if (outcome === 'timeout') signalSoldOut()
  const outcomes = outcome === 'timeout' ? await all : outcome
  const seconds = sold === o.seats ? (lastSaleAt - startedAt) / 1000 : Number.NaN

  const tally: Record<string, number> = {}
  for (const r of outcomes) tally[r] = (tally[r] ?? 0) + 1
  const soldInDb = ctx.direct
    ? Number((await ctx.sql.unsafe(`select count(*) as n from seats where schedule_id = $1 and status = 'SOLD'`, [scheduleId]))[0]!.n)
    : sold
  const sorted = Float64Array.from(latencies).sort()
  const rps = Number.isNaN(seconds) ? 0 : o.seats / seconds
  const errors = (tally.failed ?? 0) + (soldInDb !== o.seats ? 1 : 0) + (sold !== soldInDb ? 1 : 0)
  const ratio = seconds / boundSeconds

  const row: Row = {
    name: 'sellout',
    store: ctx.kind,
    rps,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    errors,
    ceilingRps: ctx.limits.admitPerSecond,
    ratio: rps / ctx.limits.admitPerSecond,
    httpCeilingRps: ctx.httpCeilingRps,
    share: Number.NaN,
    driver: 'bun',
    connections: ctx.settings.concurrency,
    statuses: null,
    storeCeilingRps: ctx.limits.admitPerSecond,
    bound: 'admission',
    rssMb,
    notes: [
      `${o.users} users, ${o.seats} seats, admission ${ctx.limits.admitPerSecond}/s (tick ${ctx.tickMs} ms, max active ${ctx.limits.maxActive}):` +
        ` sold out in ${seconds.toFixed(2)} s against a bound of ${boundSeconds.toFixed(2)} s = ${ratio.toFixed(2)} (target <= 1.2)`,
      `sales seen ${sold}, SOLD seats in the database ${soldInDb}; buyers: ${Object.entries(tally).map(([k, v]) => `${k} ${v}`).join(', ')}; ${noSeatRetries} looks found no free seat; ${rateLimited} answers were 429 (waited 1 s);` +
        ` ${latencies.length} requests (p50/p99 are per request)`,
      ...Object.entries(failures).map(([k, v]) => `${v}x ${k}`),
    ],
  }
  ctx.log(`  sellout       ${ctx.kind.padEnd(10)} ${row.notes[0]}`)
  for (const note of row.notes.slice(1)) ctx.log(`      ${note}`)
  return row
}
