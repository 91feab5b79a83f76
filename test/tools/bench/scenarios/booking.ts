import { balance } from '../../../../src/balance/balance'
import { catalogue } from '../../../../src/catalogue/catalogue'
import { holds } from '../../../../src/holds/holds'
import { ServiceError } from '../../../../src/errors'
import { paymentCalls } from '../../../../src/payments/payments'
import type { Ticket } from '../../../../src/waiting-room/store'
import { auth, type Api, type User } from '../api'
import { EXHAUSTED, mapLimit, percentile, type Operation } from '../driver'
import { json } from '../http-client'
import { connection, Dealer, encodeFor, measure, seatDealer, ticketOf, wrkSeconds, type Context, type Row } from './common'

// The booking scenarios, on an instance whose waiting room admits everyone at once (users must be ACTIVE):
// seat listings, the seat hold (random seats; everyone on one seat), the balance charge, hold + pay.
// Each store ceiling is the endpoint without its HTTP edge: the same service functions the routes call
// (src/catalogue, src/holds, src/balance, src/payments: the sql/ statements, their round trips and the
// catalogue cache as configured) and the same waiting-room store calls, issued directly by the bench.

/**
 * The app's service layer on the bench's own pool, configured as the app is: one set per context, shared
 * by all workers as the app's one set is shared by all requests (the catalogue cache must be shared too).
 */
const made = new WeakMap<Context, ReturnType<typeof makeServices>>()
function services(ctx: Context) {
  let s = made.get(ctx)
  if (!s) made.set(ctx, (s = makeServices(ctx)))
  return s
}

function makeServices(ctx: Context) {
  return {
    shop: catalogue(ctx.sql, { cacheMs: ctx.catalogueCacheMs }),
    seatHolds: holds(ctx.sql, { holdTtlSeconds: ctx.holdTtlSeconds, maxHoldsPerUser: ctx.maxHoldsPerUser }),
    money: balance(ctx.sql, { maxBalance: ctx.maxBalance }),
    payments: paymentCalls(ctx.sql),
  }
}

const PRICE = 1000
const SEATS_PER_HOLD_SCHEDULE = 100_000
/**
 * Single-use holds prepared per second of a wrk run: above the rate one instance reaches here. At 6,000 a
 * fast day's box ran out (5,141 holds/s on average, more in the warm-up) and wrk sent some twice (409).
 */
const HOLDS_PER_SECOND = 10_000

export interface BookingSetup {
  concertId: string
  seats50: string
  seats10000: string
  seats50000: string
  /** A 100,000-seat schedule nobody holds in: the full and the compact big map, and their re-reads. */
  seats100000: string
  /** ACTIVE users for reads, charges and the hot seat. */
  readers: User[]
  /** ACTIVE users for random holds, MAX_HOLDS_PER_USER holds each. */
  holders: User[]
  /** The 100,000-seat schedules holds and payments take their seats from. */
  holdSchedules: string[]
  seats: ReturnType<typeof seatDealer>
}

/** The worker's share of a list: items w, w + n, w + 2n, ... so no two workers act as one user at once. */
function share<T>(items: T[], worker: number, workers: number): T[] {
  return items.filter((_, i) => i % workers === worker)
}

export async function prepareBooking(ctx: Context, api: Api): Promise<BookingSetup> {
  // Seats for the hold row's HTTP and direct sides and the pay row's: about 60,000 in a quick run, 270,000 in a full one.
  const holdSchedules = ctx.settings.quick ? 1 : 4
  const { concertId, scheduleIds } = await api.createConcert('bench booking', [
    { seatCount: 50, price: PRICE },
    { seatCount: 10_000, price: PRICE },
    { seatCount: 50_000, price: PRICE },
    { seatCount: 100_000, price: PRICE },
    ...Array.from({ length: holdSchedules }, () => ({ seatCount: SEATS_PER_HOLD_SCHEDULE, price: PRICE })),
  ])
  // Enough readers that none passes the per-user rate limit (RATE_LIMIT_PER_SECOND, 20 by default) at
  // 20,000 (quick) or 40,000 requests per second: the bench measures the endpoints, not the limiter.
  const readers = await api.users('reader', ctx.settings.quick ? 1024 : 2048, { join: concertId, admit: true })
  // Every single-use hold wrk may send has a holder (MAX_HOLDS_PER_USER holds each): one short, and wrk
  // sends some twice, answered 409.
  const holderCount = Math.ceil((wrkSeconds(ctx.settings) * HOLDS_PER_SECOND) / ctx.maxHoldsPerUser) + ctx.settings.concurrency
  const holders = await api.users('holder', holderCount, { join: concertId, admit: true })
  ctx.log(`  seeded: a concert with ${4 + holdSchedules} schedules, ${readers.length + holders.length} ACTIVE users`)
  return {
    concertId,
    seats50: scheduleIds[0]!,
    seats10000: scheduleIds[1]!,
    seats50000: scheduleIds[2]!,
    seats100000: scheduleIds[3]!,
    readers,
    holders,
    holdSchedules: scheduleIds.slice(4),
    seats: seatDealer(scheduleIds.slice(4), SEATS_PER_HOLD_SCHEDULE),
  }
}

/** The hold's database work as the app does it; null when the seat is taken (409 SEAT_UNAVAILABLE). */
async function holdDirect(ctx: Context, userId: string, scheduleId: string, seatNumber: number): Promise<string | null> {
  try {
    return (await services(ctx).seatHolds.hold(userId, scheduleId, seatNumber, 1)).reservationId
  } catch (error) {
    if (error instanceof ServiceError && error.code === 'SEAT_UNAVAILABLE') return null
    throw error
  }
}

/** The queue guard of a hold: the session is extended so that the hold can be paid. */
async function extendDirect(ctx: Context, ticket: Ticket) {
  const view = await ctx.store.extend(ticket, Date.now() + ctx.holdTtlSeconds * 1000 + 5000, ctx.limits)
  if (view.status !== 'ACTIVE') throw new Error(`store: session is ${view.status}`)
}

/** GET /health: the framework route of our stack (request id, log line, metrics), next to bare Elysia. */
export async function health(ctx: Context): Promise<Row> {
  return measure(ctx, {
    name: 'health',
    requestsPerOp: 1,
    http: () => {
      const c = connection(ctx)
      const request = c.encode({ method: 'GET', path: '/health' })
      return async () => {
        await c.call(request, [200])
      }
    },
    wrk: { expected: [200], requests: () => [encodeFor(ctx, { method: 'GET', path: '/health' })] },
  })
}

export async function seats(ctx: Context, setup: BookingSetup, name: 'seats-50' | 'seats-10000' | 'seats-50000'): Promise<Row> {
  const scheduleId = { 'seats-50': setup.seats50, 'seats-10000': setup.seats10000, 'seats-50000': setup.seats50000 }[name]
  const expected = { 'seats-50': 50, 'seats-10000': 10_000, 'seats-50000': 50_000 }[name]
  const first = await connection(ctx).call({ method: 'GET', path: `/v1/schedules/${scheduleId}/seats`, headers: auth(setup.readers[0]!) }, [200])
  const listed = json<unknown[]>(first).length
  if (listed !== expected) throw new Error(`${name}: the listing has ${listed} seats, expected ${expected}`)
  const bytes = Buffer.byteLength(first.text)
  const row = await measure(ctx, {
    name,
    requestsPerOp: 1,
    http: (w) => {
      const c = connection(ctx)
      const requests = share(setup.readers, w, ctx.settings.concurrency).map((u) =>
        c.encode({ method: 'GET', path: `/v1/schedules/${scheduleId}/seats`, headers: auth(u) }),
      )
      let i = 0
      return async () => {
        await c.call(requests[i++ % requests.length]!, [200])
      }
    },
    store: () => {
      const { shop } = services(ctx)
      return async () => {
        await shop.seatMap(scheduleId, false)
      }
    },
    wrk: {
      expected: [200],
      requests: () => setup.readers.map((u) => encodeFor(ctx, { method: 'GET', path: `/v1/schedules/${scheduleId}/seats`, headers: auth(u) })),
    },
    notes: () => [`the app shares each seat map for CATALOGUE_CACHE_MS = ${ctx.catalogueCacheMs} ms; the store ceiling uses the same cache`],
  })
  // The trivial route answers ~50 bytes; a seat map is far larger, so say what the rate means in bytes.
  row.notes.push(`${bytes.toLocaleString('en-US')} bytes per response: ${((row.rps * bytes) / 1e6).toFixed(0)} MB/s of JSON`)
  return row
}

/**
 * The 100,000-seat map as a browser asks for it (Accept-Encoding: br, gzip): the full map (seats-100000),
 * the compact one (seat-map-100000), and the re-read of a client that has the full map already
 * (seats-100000-304: If-None-Match with its ETag, answered 304 with no body).
 */
export async function bigMap(ctx: Context, setup: BookingSetup, name: 'seats-100000' | 'seat-map-100000' | 'seats-100000-304', seats50?: Row): Promise<Row> {
  const path = `/v1/schedules/${setup.seats100000}/${name === 'seat-map-100000' ? 'seat-map' : 'seats'}`
  // fetch here, for the headers (ETag, Content-Encoding) and the undecoded size; the load uses the raw client.
  const get = async (headers: Record<string, string>, expected: number) => {
    const response = await fetch(`http://${ctx.host}:${ctx.port}${path}`, { headers, decompress: false })
    const bytes = await response.arrayBuffer()
    if (response.status !== expected) throw new Error(`${name}: ${response.status} ${Buffer.from(bytes).toString().slice(0, 200)}`)
    return { response, bytes }
  }
  const first = await get(auth(setup.readers[0]!), 200)
  const map = JSON.parse(Buffer.from(first.bytes).toString()) as { status: string } | unknown[]
  const listed = Array.isArray(map) ? map.length : map.status.length
  if (listed !== 100_000) throw new Error(`${name}: the map has ${listed} seats, expected 100,000`)
  const conditional = name === 'seats-100000-304'
  // The tag of the form the load is sent (each encoding has its own).
  const etag = conditional ? (await get({ ...auth(setup.readers[0]!), 'accept-encoding': 'br, gzip' }, 200)).response.headers.get('etag')! : null
  const headers = (u: User) => ({
    ...auth(u),
    'accept-encoding': 'br, gzip',
    ...(etag ? { 'if-none-match': etag } : {}),
  })
  const expected = conditional ? 304 : 200
  const sample = await get(headers(setup.readers[0]!), expected)
  const row = await measure(ctx, {
    name,
    requestsPerOp: 1,
    http: (w) => {
      const c = connection(ctx)
      const requests = share(setup.readers, w, ctx.settings.concurrency).map((u) => c.encode({ method: 'GET', path, headers: headers(u) }))
      let i = 0
      return async () => {
        await c.call(requests[i++ % requests.length]!, [expected])
      }
    },
    store: () => {
      const { shop } = services(ctx)
      return async () => {
        await (name === 'seat-map-100000' ? shop.compactSeatMap(setup.seats100000) : shop.seatMap(setup.seats100000, false))
      }
    },
    wrk: { expected: [expected], requests: () => setup.readers.map((u) => encodeFor(ctx, { method: 'GET', path, headers: headers(u) })) },
    notes: () => [`the app shares each seat map for CATALOGUE_CACHE_MS = ${ctx.catalogueCacheMs} ms; the store ceiling uses the same cache`],
  })
  row.notes.push(
    conditional
      ? `304 with no body to If-None-Match (${first.bytes.byteLength.toLocaleString('en-US')} bytes of JSON not sent)`
      : `${sample.bytes.byteLength.toLocaleString('en-US')} bytes per response (${sample.response.headers.get('content-encoding') ?? 'identity'}; ${first.bytes.byteLength.toLocaleString('en-US')} bytes of JSON)`,
  )
  if (conditional && seats50) row.notes.push(`${(row.rps / seats50.rps).toFixed(2)} x the req/s of the 50-seat list in this run (goal: at least 1)`)
  return row
}

export async function charge(ctx: Context, setup: BookingSetup): Promise<Row> {
  return measure(ctx, {
    name: 'charge',
    requestsPerOp: 1,
    http: (w) => {
      const c = connection(ctx)
      const requests = share(setup.readers, w, ctx.settings.concurrency).map((u) =>
        c.encode({ method: 'POST', path: '/v1/balance/charges', headers: auth(u), body: { amount: 1 } }),
      )
      let i = 0
      return async () => {
        await c.call(requests[i++ % requests.length]!, [201])
      }
    },
    store: (w) => {
      const { money } = services(ctx)
      let i = 0
      return async () => {
        await money.chargeOnce(`ceil-charge-${w}-${i++ % 4}`, 1, undefined)
      }
    },
    wrk: {
      expected: [201],
      requests: () => setup.readers.map((u) => encodeFor(ctx, { method: 'POST', path: '/v1/balance/charges', headers: auth(u), body: { amount: 1 } })),
    },
  })
}

export async function holdHot(ctx: Context, setup: BookingSetup): Promise<Row> {
  let httpHeld = 0
  let storeHeld = 0
  const row = await measure(ctx, {
    name: 'hold-hot',
    requestsPerOp: 1,
    http: (w) => {
      const c = connection(ctx)
      const requests = share(setup.readers, w, ctx.settings.concurrency).map((u) =>
        c.encode({ method: 'POST', path: '/v1/reservations', headers: auth(u), body: { scheduleId: setup.seats50, seatNumber: 1 } }),
      )
      let i = 0
      return async () => {
        const response = await c.call(requests[i++ % requests.length]!, [201, 409])
        if (response.status === 201) httpHeld++
        else if (!response.text.includes('"SEAT_UNAVAILABLE"')) throw new Error(`409 ${response.text.slice(0, 80)}`)
      }
    },
    store: (w) => {
      const tickets = share(setup.readers, w, ctx.settings.concurrency).map(ticketOf)
      let i = 0
      return async () => {
        const n = i++
        await extendDirect(ctx, tickets[n % tickets.length]!)
        if (await holdDirect(ctx, `ceil-hot-${w}-${n % 4}`, setup.seats50, 2)) storeHeld++
      }
    },
    // wrk sees statuses only: a 409 there is counted as SEAT_UNAVAILABLE (the in-repo driver checks the code).
    wrk: {
      expected: [201, 409],
      requests: () =>
        setup.readers.map((u) => encodeFor(ctx, { method: 'POST', path: '/v1/reservations', headers: auth(u), body: { scheduleId: setup.seats50, seatNumber: 1 } })),
    },
  })
  if (row.driver === 'wrk') httpHeld = hotSeatHolds(row)
  row.notes.push(`the hot seat was held ${httpHeld} time(s) over HTTP and ${storeHeld} time(s) directly (1 each is right)`)
  if (httpHeld !== 1 || storeHeld !== 1) row.errors += Math.abs(httpHeld - 1)
  return row
}

/** The 201s of a wrk run (every 201 and 409 counts as an operation there). */
function hotSeatHolds(row: Row): number {
  return row.statuses?.['201'] ?? 0
}

/** A user's holds until MAX_HOLDS_PER_USER, then the next user of the worker's share. */
function holdingUsers<T>(users: T[], perUser: number) {
  let n = 0
  return (): T | typeof EXHAUSTED => {
    const user = users[Math.floor(n / perUser)]
    n++
    return user ?? EXHAUSTED
  }
}

export async function hold(ctx: Context, setup: BookingSetup): Promise<Row> {
  let holdersUsed = 0
  return measure(ctx, {
    name: 'hold',
    requestsPerOp: 1,
    http: (w): Operation => {
      const c = connection(ctx)
      const nextUser = holdingUsers(share(setup.holders, w, ctx.settings.concurrency), ctx.maxHoldsPerUser)
      return async () => {
        const user = nextUser()
        const seat = setup.seats.take()
        if (user === EXHAUSTED || seat === EXHAUSTED) return EXHAUSTED
        await c.call({ method: 'POST', path: '/v1/reservations', headers: auth(user), body: seat }, [201])
      }
    },
    store: (w): Operation => {
      const tickets = share(setup.readers, w, ctx.settings.concurrency).map(ticketOf)
      let i = 0
      return async () => {
        const seat = setup.seats.take()
        if (seat === EXHAUSTED) return EXHAUSTED
        const n = i++
        await extendDirect(ctx, tickets[n % tickets.length]!)
        const userId = `ceil-hold-${w}-${Math.floor(n / ctx.maxHoldsPerUser)}`
        if (!(await holdDirect(ctx, userId, seat.scheduleId, seat.seatNumber))) throw new Error('store: hold refused')
      }
    },
    // At 16 connections, as in the side-by-side table: a hold is latency-bound, not throughput-bound.
    wrk: {
      expected: [201],
      singleUse: true,
      connections: 16,
      perSecond: HOLDS_PER_SECOND,
      // wrk sends the list over all its connections at once, so a user's holds are spread through it (each
      // user once per round of the users taken): adjacent requests would be one user's holds in flight
      // together, decided one at a time under that user's lock - not the distinct users this row measures.
      requests(count) {
        const users = setup.holders.slice(holdersUsed, holdersUsed + Math.ceil(count / ctx.maxHoldsPerUser))
        const out: Buffer[] = []
        for (let round = 0; round < ctx.maxHoldsPerUser && out.length < count; round++) {
          for (const user of users) {
            const seat = out.length < count ? setup.seats.take() : EXHAUSTED
            if (seat === EXHAUSTED) break
            out.push(encodeFor(ctx, { method: 'POST', path: '/v1/reservations', headers: auth(user), body: seat }))
          }
        }
        holdersUsed += users.length
        return out
      },
    },
    notes: () => [`${setup.seats.used} of ${setup.seats.total} distinct random seats dealt so far (hold and pay share them)`],
  })
}

/**
 * Readers of the changing maps beside the holds of maps-changing, and the rate they read at together: a
 * steady demand, as of many people each looking every few seconds, that the code before seat_changes.sql
 * (every form built whole by Postgres each window) could just carry here (~590 reads/s flat out).
 */
const MAP_READERS = 64
const MAP_READS_PER_SECOND = 500
const MAP_FORMS = ['seats', 'seats?available=true', 'seat-map']

/**
 * Holds beside readers of the maps they change (maps-changing): MAP_READERS readers of the hold schedules'
 * 100,000-seat maps, every form, `Accept-Encoding: br, gzip`, MAP_READS_PER_SECOND in all (a reader whose
 * read takes longer than its turn reads again at once), while 16 buyers hold a random seat and cancel it.
 * Each cache window the maps have changed, so each is brought up to date and drawn again. The row is the
 * buyers' (hold + cancel pairs; p99 per request in the notes), the notes give the readers' rate and p99:
 * what readers of a changing big hall cost the people buying in it.
 */
export async function mapsChanging(ctx: Context, api: Api, setup: BookingSetup): Promise<Row> {
  const buyers = await api.users('changer', 16, { join: setup.concertId, admit: true })
  const reads: number[] = []
  let readErrors = 0
  let reading = true
  const warm = performance.now() + ctx.settings.warmupMs
  const readers = Array.from({ length: MAP_READERS }, async (_, i) => {
    const c = connection(ctx)
    const user = setup.readers[i % setup.readers.length]!
    const requests = setup.holdSchedules.flatMap((id) =>
      MAP_FORMS.map((form) => c.encode({ method: 'GET', path: `/v1/schedules/${id}/${form}`, headers: { ...auth(user), 'accept-encoding': 'br, gzip' } })),
    )
    const every = (MAP_READERS / MAP_READS_PER_SECOND) * 1000
    await Bun.sleep((i * every) / MAP_READERS) // spread over the first interval
    for (let n = i; reading; n++) {
      const started = performance.now()
      try {
        await c.call(requests[n % requests.length]!, [200])
        if (started >= warm) reads.push(performance.now() - started) // the first reads wait for the seats read whole
      } catch {
        readErrors++
      }
      await Bun.sleep(Math.max(0, started + every - performance.now()))
    }
  })
  try {
    const row = await measure(ctx, {
      name: 'maps-changing',
      requestsPerOp: 2,
      connections: buyers.length,
      http: (w): Operation => {
        const c = connection(ctx)
        const user = buyers[w % buyers.length]!
        return async (step) => {
          const seat = setup.seats.take()
          if (seat === EXHAUSTED) return EXHAUSTED
          const held = await step('hold', c.call({ method: 'POST', path: '/v1/reservations', headers: auth(user), body: seat }, [201]))
          const { reservationId } = json<{ reservationId: string }>(held)
          await step('cancel', c.call({ method: 'DELETE', path: `/v1/reservations/${reservationId}`, headers: auth(user) }, [200]))
        }
      },
    })
    const seconds = (performance.now() - warm) / 1000
    const sorted = Float64Array.from(reads).sort()
    row.notes.push(
      `beside it, ${MAP_READERS} readers of the ${setup.holdSchedules.length} hold schedule(s)' 100,000-seat maps (full, available, compact; br) asking ${MAP_READS_PER_SECOND}/s: ` +
        `${Math.round(sorted.length / seconds)} reads/s, p50 ${percentile(sorted, 50).toFixed(1)} ms, p99 ${percentile(sorted, 99).toFixed(1)} ms, ${readErrors} errors`,
    )
    return row
  } finally {
    reading = false
    await Promise.all(readers)
  }
}

/** Users for the pay ceiling, made in the store and the database directly: a balance and an ACTIVE place. */
async function directPayers(ctx: Context, concertId: string, count: number): Promise<Ticket[]> {
  const ids = Array.from({ length: count }, (_, i) => `ceil-payer-${i}`)
  const { money } = services(ctx)
  const tickets = await mapLimit(ids, 32, async (userId) => {
    await money.chargeOnce(userId, PRICE * 10, undefined)
    const joined = await ctx.store.join(concertId, userId, ctx.limits)
    if (joined === 'SOLD_OUT') throw new Error('the booking concert is sold out')
    return { concertId, userId, seq: joined.seq }
  })
  // The instance's own admission job admits them too; whoever runs first, all end ACTIVE.
  for (let round = 0; round < 100; round++) {
    await ctx.store.admit(concertId, ctx.limits)
    const last = await ctx.store.check(tickets[tickets.length - 1]!, ctx.limits)
    if (last.status === 'ACTIVE') return tickets
    await Bun.sleep(100)
  }
  throw new Error('the direct payers were not admitted')
}

/** How many single-use users a run at `rps` operations per second needs, with room to spare. */
function usersFor(ctx: Context, rps: number): number {
  const seconds = (ctx.settings.warmupMs + ctx.settings.durationMs) / 1000
  return Math.min(30_000, Math.max(500, Math.ceil(rps * seconds * 1.5) + ctx.settings.concurrency))
}

/**
 * hold + pay, each user once: the payment ends the user's queue session (DONE), as it does for a real
 * buyer, so every operation needs a fresh ACTIVE user with a balance. How many are made follows the
 * measured hold rates (a payment costs at least a hold).
 */
export async function pay(ctx: Context, api: Api, setup: BookingSetup, holdRow: Row): Promise<Row> {
  const payers = await api.users('payer', usersFor(ctx, holdRow.rps / 2), { balance: PRICE * 10, join: setup.concertId, admit: true })
  const direct = ctx.direct ? await directPayers(ctx, setup.concertId, usersFor(ctx, holdRow.storeCeilingRps / 2)) : []
  ctx.log(`  seeded: ${payers.length} ACTIVE payers over HTTP, ${direct.length} directly`)
  const httpPayers = new Dealer(payers)
  const storePayers = new Dealer(direct)
  return measure(ctx, {
    name: 'pay',
    requestsPerOp: 2,
    http: (): Operation => {
      const c = connection(ctx)
      return async (step) => {
        const user = httpPayers.take()
        const seat = setup.seats.take()
        if (user === EXHAUSTED || seat === EXHAUSTED) return EXHAUSTED
        const held = await step('hold', c.call({ method: 'POST', path: '/v1/reservations', headers: auth(user), body: seat }, [201]))
        const { reservationId } = json<{ reservationId: string }>(held)
        // With an Idempotency-Key, as the web client and the k6 scripts send it (a retry must not pay twice).
        const headers = { ...auth(user), 'idempotency-key': crypto.randomUUID() }
        await step('pay', c.call({ method: 'POST', path: '/v1/payments', headers, body: { reservationId } }, [201]))
      }
    },
    store: (): Operation => {
      const { shop, payments } = services(ctx)
      return async () => {
        const ticket = storePayers.take()
        const seat = setup.seats.take()
        if (ticket === EXHAUSTED || seat === EXHAUSTED) return EXHAUSTED
        await extendDirect(ctx, ticket)
        const reservationId = await holdDirect(ctx, ticket.userId, seat.scheduleId, seat.seatNumber)
        if (!reservationId) throw new Error('store: hold refused')
        const view = await ctx.store.check(ticket, ctx.limits)
        if (view.status !== 'ACTIVE') throw new Error(`store: session is ${view.status}`)
        const paid = await payments.pay({ userId: ticket.userId, key: undefined, fingerprint: '' }, reservationId, { session: ticket, ownUntilMs: view.ownUntilMs, storeEnded: false })
        if (paid.endsSession) await ctx.store.finish(ticket)
        // The app asks whether that was the last seat without making the buyer wait for the answer.
        shop.soldOut([ticket.concertId]).catch(() => {})
      }
    },
    notes: () => [
      `op = hold + pay (with an Idempotency-Key) by a fresh ACTIVE user (the payment ends the session); p50/p99 are of the pair, per request below;` +
        ` ${httpPayers.used}/${payers.length} HTTP and ${storePayers.used}/${direct.length} direct users used`,
    ],
  })
}
