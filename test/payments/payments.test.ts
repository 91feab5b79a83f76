import { expect, test } from 'bun:test'
import { RedisClient } from 'bun'
import { call, onEachDatabase, onFreshDatabase, type Reply } from '../support/app'
import { admit, createConcert, hold, pay, shopper, userToken } from '../support/scenario'
import { advisoryLocks } from '../../src/db/locks'
import { problemBody } from '../../src/http/problems'
import { fingerprint, problemTemplates } from '../../src/idempotency/idempotency'
import { paymentCalls, type GuardedSession } from '../../src/payments/payments'
import { endOfTurn, keptLocks, watched } from '../support/locks'
import type { ServiceError } from '../../src/errors'
import { describeWith, serviceUrl } from '../support/services'

onEachDatabase('payments', { MAX_HOLDS_PER_USER: '4' }, (ctx, kind) => {

  async function facts(reservationId: string, userId: string) {
    const [row] = await ctx.db.sql`
      select r.status, s.status as seat_status,
        (select coalesce(sum(amount), 0)::int from ledger where user_id = ${userId}) as ledger_sum,
        (select coalesce((select balance from balances where user_id = ${userId}), 0)::int) as balance,
        (select count(*)::int from payments where reservation_id = ${reservationId}) as payments
      from reservations r join seats s using (schedule_id, seat_number)
      where r.reservation_id = ${reservationId}`
    return row!
  }

  test('paying a live hold: PAID, seat SOLD, one debit, one ledger entry, one payment', async () => {
    const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 2, price: 1200 })
    const alice = await shopper(ctx.server, 'p-alice', concertId, 5000)
    const held = await hold(ctx.server, alice, scheduleIds[0]!, 1)
    const paid = await pay(ctx.server, alice, held.body.reservationId)
    expect(paid.status).toBe(201)
    expect(paid.body).toEqual({
      paymentId: expect.any(String),
      reservationId: held.body.reservationId,
      amount: 1200,
      balance: 3800,
      status: 'PAID',
    })
    expect(await facts(held.body.reservationId, 'p-alice')).toEqual({
      status: 'PAID',
      seat_status: 'SOLD',
      ledger_sum: 3800,
      balance: 3800,
      payments: 1,
    })
    const history = await call(ctx.server, '/v1/balance/history', alice)
    expect(history.body.entries[0]).toMatchObject({ type: 'PAYMENT', amount: -1200, balanceAfter: 3800, paymentId: paid.body.paymentId })
  })

  test('a balance lower than the price: 402 and nothing changes', async () => {
    const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 1, price: 1200 })
    const alice = await shopper(ctx.server, 'p-poor', concertId, 1000)
    const held = await hold(ctx.server, alice, scheduleIds[0]!, 1)
    const paid = await pay(ctx.server, alice, held.body.reservationId)
    expect(paid.status).toBe(402)
    expect(paid.body.code).toBe('INSUFFICIENT_BALANCE')
    expect(await facts(held.body.reservationId, 'p-poor')).toEqual({
      status: 'HELD',
      seat_status: 'HELD',
      ledger_sum: 1000,
      balance: 1000,
      payments: 0,
    })
  })

  test('paying twice without the original key: 409 ALREADY_PAID, one debit', async () => {
    const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 2, price: 100 })
    const alice = await shopper(ctx.server, 'p-twice', concertId, 1000)
    const held = await hold(ctx.server, alice, scheduleIds[0]!, 1)
    await hold(ctx.server, alice, scheduleIds[0]!, 2) // keeps the session ACTIVE after the first payment
    expect((await pay(ctx.server, alice, held.body.reservationId)).status).toBe(201)
    const again = await pay(ctx.server, alice, held.body.reservationId)
    expect(again.status).toBe(409)
    expect(again.body.code).toBe('ALREADY_PAID')
    expect((await facts(held.body.reservationId, 'p-twice')).balance).toBe(900)
  })

  test('ALREADY_PAID answered while the new session waits is kept under its key: replayed once admitted', async () => {
    const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 2, price: 100 })
    const alice = await shopper(ctx.server, 'p-waiting-again', concertId, 1000)
    const held = await hold(ctx.server, alice, scheduleIds[0]!, 1)
    expect((await pay(ctx.server, alice, held.body.reservationId)).status).toBe(201) // the session is DONE
    const joined = await call(ctx.server, '/v1/queue/tokens', { token: alice.token, body: { concertId } })
    expect([joined.status, joined.body]).toEqual([201, expect.objectContaining({ status: 'WAITING' })])
    const again = { ...alice, queueToken: joined.body.token }
    const first = await pay(ctx.server, again, held.body.reservationId, 'k-waiting-again')
    expect([first.status, first.body.code, first.headers.get('idempotent-replayed')]).toEqual([409, 'ALREADY_PAID', null])
    // Admitted now: the same key gives the first answer again, replayed (the model test found it answered anew).
    for (let i = 0; i < 20 && (await call(ctx.server, '/v1/queue/status', again)).body.status !== 'ACTIVE'; i++) await ctx.server.admission.tick()
    const retry = await pay(ctx.server, again, held.body.reservationId, 'k-waiting-again')
    expect([retry.status, retry.body.code, retry.headers.get('idempotent-replayed')]).toEqual([409, 'ALREADY_PAID', 'true'])
    expect((await facts(held.body.reservationId, 'p-waiting-again')).balance).toBe(900)
  })

  test('paying a lapsed or cancelled hold: 409 HOLD_EXPIRED, nothing debited', async () => {
    const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 2, price: 100 })
    const alice = await shopper(ctx.server, 'p-late', concertId, 1000)
    const lapsed = await hold(ctx.server, alice, scheduleIds[0]!, 1)
    await ctx.db.sql`update reservations set expires_at = now() - interval '1 ms' where reservation_id = ${lapsed.body.reservationId}`
    await ctx.db.sql`update seats set hold_expires_at = now() - interval '1 ms' where reservation_id = ${lapsed.body.reservationId}`
    const late = await pay(ctx.server, alice, lapsed.body.reservationId)
    expect(late.status).toBe(409)
    expect(late.body.code).toBe('HOLD_EXPIRED')

    const cancelled = await hold(ctx.server, alice, scheduleIds[0]!, 2)
    await call(ctx.server, `/v1/reservations/${cancelled.body.reservationId}`, { ...alice, method: 'DELETE' })
    expect((await pay(ctx.server, alice, cancelled.body.reservationId)).body.code).toBe('HOLD_EXPIRED')
    expect((await facts(cancelled.body.reservationId, 'p-late')).balance).toBe(1000)
  })

  test("another user's reservation is 404 and untouched", async () => {
    const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 1, price: 100 })
    const alice = await shopper(ctx.server, 'p-owner', concertId, 1000)
    const mallory = await shopper(ctx.server, 'p-mallory', concertId, 1000)
    const held = await hold(ctx.server, alice, scheduleIds[0]!, 1)
    const stolen = await pay(ctx.server, mallory, held.body.reservationId)
    expect(stolen.status).toBe(404)
    expect(await facts(held.body.reservationId, 'p-mallory')).toMatchObject({ status: 'HELD', balance: 1000 })
  })

  test("a queue token of another concert cannot pay this concert's hold: 403", async () => {
    const a = await createConcert(ctx.server, { seats: 1, price: 100 })
    const b = await createConcert(ctx.server, { seats: 1, price: 100 })
    const inA = await shopper(ctx.server, 'p-cross', a.concertId, 1000)
    const held = await hold(ctx.server, inA, a.scheduleIds[0]!, 1)
    const token = await userToken(ctx.server, 'p-cross')
    const inB = await shopper(ctx.server, 'p-cross', b.concertId)
    expect(inB.token).toBeDefined()
    const crossed = await pay(ctx.server, { token, queueToken: inB.queueToken }, held.body.reservationId)
    expect(crossed.status).toBe(403)
    expect(crossed.body.code).toBe('QUEUE_NOT_ACTIVE')
    expect((await facts(held.body.reservationId, 'p-cross')).status).toBe('HELD')
  })

  test('a payment ends the queue session unless another live hold in the concert remains', async () => {
    const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 2, price: 100 })
    const alice = await shopper(ctx.server, 'p-session', concertId, 1000)
    const first = await hold(ctx.server, alice, scheduleIds[0]!, 1)
    const second = await hold(ctx.server, alice, scheduleIds[0]!, 2)
    await pay(ctx.server, alice, first.body.reservationId)
    expect((await call(ctx.server, '/v1/queue/status', alice)).body.status).toBe('ACTIVE')
    await pay(ctx.server, alice, second.body.reservationId)
    expect((await call(ctx.server, '/v1/queue/status', alice)).body.status).toBe('DONE')
    // The DONE session cannot keep booking, on this instance or any other.
    const seats = await call(ctx.server, `/v1/schedules/${scheduleIds[0]}/seats`, alice)
    expect(seats.status).toBe(403)
  })

  // A payment decides in Postgres and ends the session in the queue store afterwards. A hold that passed
  // the queue guard in between (another instance, the store still ACTIVE) must not land in the session
  // the payment is ending: it would leave it DONE with a live hold (or, extended first, the end lost).
  test('a hold between the payment that ended the session and the end reaching the store is refused, and nothing stays held', async () => {
    const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 2, price: 100 })
    const alice = await shopper(ctx.server, 'p-between', concertId, 1000)
    const first = await hold(ctx.server, alice, scheduleIds[0]!, 1)
    expect((await pay(ctx.server, alice, first.body.reservationId)).status).toBe(201)
    // As if the store had not heard of the payment yet.
    await ctx.db.sql`update queue_sessions set status = 'ACTIVE', ended_at = null where user_id = 'p-between'`
    const late = await hold(ctx.server, alice, scheduleIds[0]!, 2)
    expect(late.status).toBe(403)
    expect(late.body.code).toBe('QUEUE_NOT_ACTIVE')
    const [left] = await ctx.db.sql`
      select count(*)::int as n from reservations where user_id = 'p-between' and status = 'HELD'`
    expect(left!.n).toBe(0)
  })

  test('a hold between the cancel that ended a paid session and the end reaching the store is refused too', async () => {
    const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 3, price: 100 })
    const alice = await shopper(ctx.server, 'p-cancelled', concertId, 1000)
    const first = await hold(ctx.server, alice, scheduleIds[0]!, 1)
    const second = await hold(ctx.server, alice, scheduleIds[0]!, 2)
    expect((await pay(ctx.server, alice, first.body.reservationId)).status).toBe(201)
    expect((await call(ctx.server, `/v1/reservations/${second.body.reservationId}`, { ...alice, method: 'DELETE' })).status).toBe(200)
    expect((await call(ctx.server, '/v1/queue/status', alice)).body.status).toBe('DONE')
    await ctx.db.sql`update queue_sessions set status = 'ACTIVE', ended_at = null where user_id = 'p-cancelled'`
    const late = await hold(ctx.server, alice, scheduleIds[0]!, 3)
    expect(late.status).toBe(403)
    expect(late.body.code).toBe('QUEUE_NOT_ACTIVE')
  })

  // A payment of the hold being cancelled, sent at the same moment, passed the guard while the store
  // still said ACTIVE and reached Postgres after the cancel: 409 HOLD_EXPIRED, which no order of the two
  // explains - before the cancel it pays, after it the session is over (the model-based test on the Redis
  // store, CI of stop 26: MODEL_SEED=-79101582).
  test('a payment between the cancel that ended a paid session and the end reaching the store is 403 as after it, stored under no key', async () => {
    const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 2, price: 100 })
    const alice = await shopper(ctx.server, 'p-cancel-pay', concertId, 1000)
    const first = await hold(ctx.server, alice, scheduleIds[0]!, 1)
    const second = await hold(ctx.server, alice, scheduleIds[0]!, 2)
    expect((await pay(ctx.server, alice, first.body.reservationId)).status).toBe(201)
    expect((await call(ctx.server, `/v1/reservations/${second.body.reservationId}`, { ...alice, method: 'DELETE' })).status).toBe(200)
    const after = await pay(ctx.server, alice, second.body.reservationId, 'after-cancel')
    expect([after.status, after.body.code]).toEqual([403, 'QUEUE_NOT_ACTIVE'])
    // As if the store had not heard of the end yet.
    await ctx.db.sql`update queue_sessions set status = 'ACTIVE', ended_at = null where user_id = 'p-cancel-pay'`
    for (const key of ['between-cancel', undefined]) {
      const between = await pay(ctx.server, alice, second.body.reservationId, key)
      expect([between.status, between.body.code]).toEqual([403, 'QUEUE_NOT_ACTIVE'])
    }
    const [stored] = await ctx.db.sql`select count(*)::int as n from idempotency_keys where user_id = 'p-cancel-pay'`
    expect(stored!.n).toBe(0)
    expect(await facts(second.body.reservationId, 'p-cancel-pay')).toMatchObject({ status: 'CANCELLED', balance: 900, payments: 0 })
  })

  // PRODUCT.md: a payment needs an ACTIVE token of its concert. A DONE session has nothing left to pay;
  // its token paying a hold of the user's later session left that session ACTIVE with nothing held.
  test("a DONE session's token pays nothing: the later session's hold is paid with that session's token, which then ends", async () => {
    const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 3, price: 100 })
    const first = await shopper(ctx.server, 'p-two-sessions', concertId, 1000)
    const h1 = await hold(ctx.server, first, scheduleIds[0]!, 1)
    expect((await pay(ctx.server, first, h1.body.reservationId)).status).toBe(201)
    const second = { ...first, queueToken: await admit(ctx.server, first.token, concertId) }
    expect(second.queueToken).not.toBe(first.queueToken)
    const h2 = await hold(ctx.server, second, scheduleIds[0]!, 2)
    const withDone = await pay(ctx.server, first, h2.body.reservationId, 'old-token')
    expect([withDone.status, withDone.body.code]).toEqual([403, 'QUEUE_NOT_ACTIVE'])
    expect((await facts(h2.body.reservationId, 'p-two-sessions')).status).toBe('HELD')
    // What the DONE session did pay is still answered to its token: ALREADY_PAID.
    expect((await pay(ctx.server, first, h1.body.reservationId)).body.code).toBe('ALREADY_PAID')
    expect((await pay(ctx.server, second, h2.body.reservationId, 'old-token')).status).toBe(201)
    expect((await call(ctx.server, '/v1/queue/status', second)).body.status).toBe('DONE')
    // Done means done: joining again gives a fresh place.
    const again = await call(ctx.server, '/v1/queue/tokens', { token: first.token, body: { concertId } })
    expect(again.status).toBe(201)
    expect(again.body.token).not.toBe(second.queueToken)
  })

  test('a payment that left another live hold ends nothing: the session may still hold while that hold lives', async () => {
    const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 3, price: 100 })
    const alice = await shopper(ctx.server, 'p-open', concertId, 1000)
    const first = await hold(ctx.server, alice, scheduleIds[0]!, 1)
    await hold(ctx.server, alice, scheduleIds[0]!, 2)
    expect((await pay(ctx.server, alice, first.body.reservationId)).status).toBe(201)
    expect((await hold(ctx.server, alice, scheduleIds[0]!, 3)).status).toBe(201)
  })

  // Plans are kept per connection: one made while reservations was small must not scan the grown table.
  test.skipIf(kind === 'embedded')('a hold and a payment find rows by key however much reservations grew since their plans were made', async () => {
    const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 8, price: 100 })
    await shopper(ctx.server, 'pay-grow', concertId, 1000)
    const connection = await ctx.db.sql.reserve()
    try {
      const holdAndPay = async (seat: number) => {
        const [held] = await connection`select reservation_id from hold_seats(array[${crypto.randomUUID()}]::uuid[], array['pay-grow'], array[${scheduleIds[0]!}]::uuid[], array[${seat}]::int[], array[null]::bigint[], 300, 4, true)`
        const [paid] = await connection`select paid from pay_reservation(${crypto.randomUUID()}::uuid, ${crypto.randomUUID()}::uuid, ${held!.reservation_id}::uuid, 'pay-grow', ${concertId}::uuid, true)`
        expect(paid!.paid).toBe(true)
      }
      await ctx.db.sql`analyze reservations` // as autovacuum does on a young table: the planner knows it is small
      for (let seat = 1; seat <= 7; seat++) await holdAndPay(seat) // past the plan cache's five custom plans
      await ctx.db.sql`
        insert into reservations (reservation_id, user_id, concert_id, schedule_id, seat_number, price, status, expires_at, ended_at)
        select gen_random_uuid(), 'pay-grow', ${concertId}::uuid, ${scheduleIds[0]!}::uuid, 8, 100, 'EXPIRED', now(), now()
        from generate_series(1, 20000)`
      // The backend's counts not yet sent to the statistics (this transaction's, and maybe the last ones').
      const scans = async () =>
        (await connection`select seq_scan::int as seq, idx_scan::int as idx from pg_stat_xact_user_tables where relname = 'reservations'`)[0]!
      await connection`begin`
      const before = await scans()
      await holdAndPay(8)
      const after = await scans()
      await connection`commit`
      expect(after.seq - before.seq).toBe(0)
      expect(after.idx - before.idx).toBeGreaterThan(0)
    } finally {
      connection.release()
    }
  })
})

onEachDatabase('idempotent payments and charges', {}, (ctx, kind) => {

  /** The names of the statements (and the client transactions) the app sends while `run` runs. */
  async function statementsSentBy(run: () => Promise<void>): Promise<string[]> {
    const sql = ctx.server.sql as unknown as Record<'unsafe' | 'begin', (...args: unknown[]) => unknown>
    const { unsafe, begin } = sql
    const sent: string[] = []
    sql.unsafe = (...args: unknown[]) => {
      sent.push(/-- name: (\w+)/.exec(String(args[0]))?.[1] ?? String(args[0]).slice(0, 40))
      return unsafe.apply(ctx.server.sql, args)
    }
    sql.begin = (...args: unknown[]) => {
      sent.push('begin')
      return begin.apply(ctx.server.sql, args)
    }
    try {
      await run()
    } finally {
      sql.unsafe = unsafe
      sql.begin = begin
    }
    return sent
  }

  /** Runs `request` while another connection holds the lock of (user, key), as a running request does. */
  async function whileKeyIsLocked<T>(userId: string, key: string, request: () => Promise<T>): Promise<T> {
    const release = await keptLocks(ctx.db.sql, (tx) => tx`select pg_advisory_xact_lock(hashtextextended(${userId}::text || chr(31) || ${key}::text, 7320002))`)
    try {
      return await request()
    } finally {
      await release()
    }
  }

  async function facts(reservationId: string, userId: string) {
    const [row] = await ctx.db.sql`
      select (select count(*)::int from payments where reservation_id = ${reservationId}) as payments,
        (select count(*)::int from idempotency_keys where user_id = ${userId}) as keys`
    return row!
  }

  test('the same key and body replays the first answer byte for byte, with one effect', async () => {
    const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 1, price: 300 })
    const alice = await shopper(ctx.server, 'i-alice', concertId, 1000)
    const held = await hold(ctx.server, alice, scheduleIds[0]!, 1)
    const first = await pay(ctx.server, alice, held.body.reservationId, 'pay-1')
    // The session is DONE now; the replay still answers with the original payment.
    const replays = await Promise.all([1, 2, 3].map(() => pay(ctx.server, alice, held.body.reservationId, 'pay-1')))
    for (const replay of replays) {
      expect(replay.status).toBe(first.status)
      expect(replay.text).toBe(first.text)
      expect(replay.headers.get('idempotent-replayed')).toBe('true')
    }
    const [row] = await ctx.db.sql`select count(*)::int as n from ledger where user_id = 'i-alice' and kind = 'PAYMENT'`
    expect(row!.n).toBe(1)
  })

  test("a replay needs the user's own queue token too: missing, forged or another user's is 401, with nothing replayed", async () => {
    const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 1, price: 300 })
    const alice = await shopper(ctx.server, 'i-own-token', concertId, 1000)
    const bob = await shopper(ctx.server, 'i-other-token', concertId)
    const held = await hold(ctx.server, alice, scheduleIds[0]!, 1)
    expect((await pay(ctx.server, alice, held.body.reservationId, 'pay-own')).status).toBe(201)
    const [payload, signature] = alice.queueToken.split('.') as [string, string]
    const forged = `${payload}.${signature.startsWith('A') ? 'B' : 'A'}${signature.slice(1)}`
    for (const queueToken of ['', forged, bob.queueToken]) {
      const replay = await pay(ctx.server, { token: alice.token, queueToken }, held.body.reservationId, 'pay-own')
      expect(replay.status).toBe(401)
      expect(replay.body.code).toBe('QUEUE_TOKEN_INVALID')
      expect(replay.headers.get('idempotent-replayed')).toBeNull()
    }
    expect((await pay(ctx.server, alice, held.body.reservationId, 'pay-own')).status).toBe(201)
  })

  test("a replay with the user's queue token of another concert is 403, as without the key: live or ended session", async () => {
    const a = await createConcert(ctx.server, { seats: 1, price: 300 })
    const b = await createConcert(ctx.server, { seats: 1, price: 300 })
    const inA = await shopper(ctx.server, 'i-two-concerts', a.concertId, 1000)
    const inB = { ...inA, queueToken: await admit(ctx.server, inA.token, b.concertId) }
    const held = await hold(ctx.server, inA, a.scheduleIds[0]!, 1)
    expect((await pay(ctx.server, inA, held.body.reservationId, 'pay-a')).status).toBe(201)
    const whileLive = await pay(ctx.server, inB, held.body.reservationId, 'pay-a')
    expect([whileLive.status, whileLive.body.code, whileLive.headers.get('idempotent-replayed')]).toEqual([403, 'QUEUE_NOT_ACTIVE', null])
    // Without a key too: a session of another concert is no session of this reservation (README), paid or not.
    const unkeyed = await pay(ctx.server, inB, held.body.reservationId)
    expect([unkeyed.status, unkeyed.body.code]).toEqual([403, 'QUEUE_NOT_ACTIVE'])
    // B's session ends (its own payment); the token of the ended session is no way to A's answer either.
    const heldB = await hold(ctx.server, inB, b.scheduleIds[0]!, 1)
    expect((await pay(ctx.server, inB, heldB.body.reservationId)).status).toBe(201)
    const afterEnd = await pay(ctx.server, inB, held.body.reservationId, 'pay-a')
    expect([afterEnd.status, afterEnd.body.code, afterEnd.headers.get('idempotent-replayed')]).toEqual([403, 'QUEUE_NOT_ACTIVE', null])
    const own = await pay(ctx.server, inA, held.body.reservationId, 'pay-a')
    expect([own.status, own.headers.get('idempotent-replayed')]).toEqual([201, 'true'])
  })

  test('a replay after a crash between the commit and the end of the session ends the session', async () => {
    const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 2, price: 300 })
    const alice = await shopper(ctx.server, 'i-crash', concertId, 1000)
    const held = await hold(ctx.server, alice, scheduleIds[0]!, 1)
    expect((await pay(ctx.server, alice, held.body.reservationId, 'pay-crash')).status).toBe(201)
    // As if the instance died right after the commit: the session never heard of the payment.
    await ctx.db.sql`update queue_sessions set status = 'ACTIVE', ended_at = null where user_id = 'i-crash'`
    expect((await call(ctx.server, '/v1/queue/status', alice)).body.status).toBe('ACTIVE')
    const replay = await pay(ctx.server, alice, held.body.reservationId, 'pay-crash')
    expect(replay.status).toBe(201)
    expect((await call(ctx.server, '/v1/queue/status', alice)).body.status).toBe('DONE')
  })

  test('a declined payment is remembered too: the replay is the same 402', async () => {
    const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 1, price: 3000 })
    const alice = await shopper(ctx.server, 'i-poor', concertId, 1000)
    const held = await hold(ctx.server, alice, scheduleIds[0]!, 1)
    const first = await pay(ctx.server, alice, held.body.reservationId, 'pay-poor')
    expect(first.status).toBe(402)
    await call(ctx.server, '/v1/balance/charges', { ...alice, body: { amount: 5000 } })
    const replay = await pay(ctx.server, alice, held.body.reservationId, 'pay-poor')
    expect(replay.status).toBe(402)
    expect(replay.text).toBe(first.text)
  })

  test('the same key with another body: 422 IDEMPOTENCY_KEY_REUSED and no effect', async () => {
    const alice = { token: await userToken(ctx.server, 'i-reuse') }
    const first = await call(ctx.server, '/v1/balance/charges', { ...alice, body: { amount: 100 }, headers: { 'idempotency-key': 'k' } })
    expect(first.status).toBe(201)
    const other = await call(ctx.server, '/v1/balance/charges', { ...alice, body: { amount: 200 }, headers: { 'idempotency-key': 'k' } })
    expect(other.status).toBe(422)
    expect(other.body.code).toBe('IDEMPOTENCY_KEY_REUSED')
    expect((await call(ctx.server, '/v1/balance', alice)).body.balance).toBe(100)
  })

  test("keys are per user: another user's identical key gets its own effect, not the first answer", async () => {
    const alice = { token: await userToken(ctx.server, 'i-a') }
    const bob = { token: await userToken(ctx.server, 'i-b') }
    const a = await call(ctx.server, '/v1/balance/charges', { ...alice, body: { amount: 100 }, headers: { 'idempotency-key': 'shared' } })
    const b = await call(ctx.server, '/v1/balance/charges', { ...bob, body: { amount: 100 }, headers: { 'idempotency-key': 'shared' } })
    expect(b.status).toBe(201)
    expect(b.body.chargeId).not.toBe(a.body.chargeId)
    expect(b.headers.get('idempotent-replayed')).toBeNull()
  })

  // Needs a second connection to hold the key's lock while the request runs; PGlite serves one.
  test.skipIf(kind === 'embedded')('while the first request with a key is running: 409 IDEMPOTENCY_IN_PROGRESS', async () => {
    const alice = { token: await userToken(ctx.server, 'i-busy') }
    const busy = await whileKeyIsLocked('i-busy', 'busy-key', () =>
      call(ctx.server, '/v1/balance/charges', { ...alice, body: { amount: 100 }, headers: { 'idempotency-key': 'busy-key' } }),
    )
    expect(busy.status).toBe(409)
    expect(busy.body.code).toBe('IDEMPOTENCY_IN_PROGRESS')
    expect(busy.headers.get('retry-after')).toBe('1')
    expect((await call(ctx.server, '/v1/balance', alice)).body.balance).toBe(0)
  })

  // Needs a second connection to hold the key's lock while the request runs; PGlite serves one.
  test.skipIf(kind === 'embedded')('a payment while a request with its key runs: 409 IDEMPOTENCY_IN_PROGRESS, nothing paid, not stored', async () => {
    const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 1, price: 300 })
    const alice = await shopper(ctx.server, 'i-busy-pay', concertId, 1000)
    const held = await hold(ctx.server, alice, scheduleIds[0]!, 1)
    const busy = await whileKeyIsLocked('i-busy-pay', 'busy-pay', () => pay(ctx.server, alice, held.body.reservationId, 'busy-pay'))
    expect([busy.status, busy.body.code, busy.headers.get('retry-after')]).toEqual([409, 'IDEMPOTENCY_IN_PROGRESS', '1'])
    expect(await facts(held.body.reservationId, 'i-busy-pay')).toEqual({ payments: 0, keys: 0 })
    const paid = await pay(ctx.server, alice, held.body.reservationId, 'busy-pay')
    expect([paid.status, paid.headers.get('idempotent-replayed')]).toEqual([201, null])
  })

  // The lock says "a request with this key is running"; once the key's answer is stored, whoever holds
  // the lock can only be replaying it, so another retry is answered the replay, not IN_PROGRESS.
  test.skipIf(kind === 'embedded')('a stored answer is replayed while another retry holds the key', async () => {
    const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 1, price: 300 })
    const alice = await shopper(ctx.server, 'i-retry', concertId, 1000)
    const held = await hold(ctx.server, alice, scheduleIds[0]!, 1)
    const first = await pay(ctx.server, alice, held.body.reservationId, 'retry-pay')
    const charged = await call(ctx.server, '/v1/balance/charges', { ...alice, body: { amount: 5 }, headers: { 'idempotency-key': 'retry-charge' } })
    expect([first.status, charged.status]).toEqual([201, 201])
    const payAgain = await whileKeyIsLocked('i-retry', 'retry-pay', () => pay(ctx.server, alice, held.body.reservationId, 'retry-pay'))
    const chargeAgain = await whileKeyIsLocked('i-retry', 'retry-charge', () =>
      call(ctx.server, '/v1/balance/charges', { ...alice, body: { amount: 5 }, headers: { 'idempotency-key': 'retry-charge' } }),
    )
    expect([payAgain.status, payAgain.text, payAgain.headers.get('idempotent-replayed')]).toEqual([201, first.text, 'true'])
    expect([chargeAgain.status, chargeAgain.text, chargeAgain.headers.get('idempotent-replayed')]).toEqual([201, charged.text, 'true'])
  })

  test('the problems a payment stores have the body of every problem, and replay byte for byte', async () => {
    const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 3, price: 3000 })
    const alice = await shopper(ctx.server, 'i-bodies', concertId, 4000)
    const poor = await hold(ctx.server, alice, scheduleIds[0]!, 1)
    const paid = await hold(ctx.server, alice, scheduleIds[0]!, 2)
    const cancelled = await hold(ctx.server, alice, scheduleIds[0]!, 3)
    expect((await pay(ctx.server, alice, paid.body.reservationId)).status).toBe(201)
    await call(ctx.server, `/v1/reservations/${cancelled.body.reservationId}`, { ...alice, method: 'DELETE' })
    const cases = [
      [poor.body.reservationId, 'b-poor', 402, 'INSUFFICIENT_BALANCE', 'The balance is lower than the price 3000'],
      [paid.body.reservationId, 'b-paid', 409, 'ALREADY_PAID', 'This reservation is already paid'],
      [cancelled.body.reservationId, 'b-cancelled', 409, 'HOLD_EXPIRED', 'The hold is CANCELLED; hold the seat again'],
    ] as const
    for (const [reservationId, key, status, code, detail] of cases) {
      const first = await pay(ctx.server, alice, reservationId, key)
      const replay = await pay(ctx.server, alice, reservationId, key)
      expect([first.status, first.headers.get('content-type')]).toEqual([status, 'application/problem+json'])
      expect(first.text).toBe(JSON.stringify(problemBody(code, detail)))
      expect([replay.status, replay.text, replay.headers.get('idempotent-replayed')]).toEqual([status, first.text, 'true'])
    }
  })

  test('a payment with an Idempotency-Key is one Postgres round trip: no client transaction', async () => {
    const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 1, price: 300 })
    const alice = await shopper(ctx.server, 'i-trips', concertId, 1000)
    const held = await hold(ctx.server, alice, scheduleIds[0]!, 1)
    const sent = await statementsSentBy(async () => {
      expect((await pay(ctx.server, alice, held.body.reservationId, 'trips')).status).toBe(201)
    })
    // What the payment itself sends; the queue store's guard and session end (here the Postgres store's)
    // and the sold-out check after a sale are not the payment's.
    const payments = ['begin', 'find_key', 'try_lock_key', 'save_key', 'pay', 'reservation_state', 'pay_many']
    expect(sent.filter((name) => payments.includes(name))).toEqual(['pay_many'])
  })

  test('a charge with an Idempotency-Key is one Postgres round trip, and so is its replay', async () => {
    const alice = { token: await userToken(ctx.server, 'i-charge-trips') }
    const keyed = () => call(ctx.server, '/v1/balance/charges', { ...alice, body: { amount: 70 }, headers: { 'idempotency-key': 'trips' } })
    let first!: Reply, replay!: Reply
    const sent = await statementsSentBy(async () => {
      first = await keyed()
      replay = await keyed()
    })
    // What the charges themselves send (a sold-out check after an earlier test's sale may run meanwhile).
    const charges = ['begin', 'find_key', 'charge_once', 'charge_many', 'get_balance']
    expect(sent.filter((name) => charges.includes(name))).toEqual(['charge_once', 'charge_once'])
    expect(first.status).toBe(201)
    expect(Object.keys(first.body)).toEqual(['chargeId', 'amount', 'balance'])
    expect(first.body).toMatchObject({ amount: 70, balance: 70 })
    expect([replay.status, replay.text, replay.headers.get('idempotent-replayed')]).toEqual([201, first.text, 'true'])
  })

  test('an Idempotency-Key longer than 255 characters is a 400', async () => {
    const alice = { token: await userToken(ctx.server, 'i-long') }
    const reply = await call(ctx.server, '/v1/balance/charges', { ...alice, body: { amount: 1 }, headers: { 'idempotency-key': 'k'.repeat(256) } })
    expect(reply.status).toBe(400)
    expect(reply.body.code).toBe('VALIDATION_FAILED')
  })

  test('replaying a paid payment with its key from a new session answers the 201 and leaves the new session alone', async () => {
    const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 3, price: 100 })
    const alice = await shopper(ctx.server, 'p-rejoin', concertId, 1000)
    const held = await hold(ctx.server, alice, scheduleIds[0]!, 1)
    const first = await pay(ctx.server, alice, held.body.reservationId, 'p-rejoin-key')
    expect(first.status).toBe(201)
    const again = { ...alice, queueToken: await admit(ctx.server, alice.token, concertId) }
    expect(again.queueToken).not.toBe(alice.queueToken)

    const replay = await pay(ctx.server, again, held.body.reservationId, 'p-rejoin-key')

    expect([replay.status, replay.headers.get('idempotent-replayed'), replay.body]).toEqual([201, 'true', first.body])
    const status = await call(ctx.server, '/v1/queue/status', again)
    expect(status.body.status).toBe('ACTIVE')
  })
})

// Payments that arrive together are decided in one call and one commit (sql/functions/pay_many.sql), each
// as it would be alone: its own answer, its own stored answer under its key, a decline undoing only its
// own steps. A batch does not wait for a reservation another transaction has locked (that could close a
// cycle of waits with the lapse job); that payment is asked again alone and waits, as one alone always did.
onEachDatabase('payments decided together', { MAX_HOLDS_PER_USER: '4' }, (ctx, kind) => {
  const problems = problemTemplates(['ALREADY_PAID', 'HOLD_EXPIRED', 'INSUFFICIENT_BALANCE'])

  /** Users, each with a hold of one seat; the third cannot afford it. */
  async function holdsOf(prefix: string, count = 3) {
    const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: count, price: 1000 })
    const users = Array.from({ length: count }, (_, i) => `${prefix}-${'abcdefgh'[i]}`)
    const held: string[] = []
    for (const [i, userId] of users.entries()) {
      const who = await shopper(ctx.server, userId, concertId, i === 2 ? 10 : 5000)
      held.push((await hold(ctx.server, who, scheduleIds[0]!, i + 1)).body.reservationId)
    }
    return { concertId, users, held }
  }

  const payMany = (users: string[], keys: (string | null)[], held: string[], concertId: string, wait: boolean) =>
    ctx.db.sql`
      select n, status, code, replayed, contended from pay_many(${users}::text[], ${keys}::text[], ${users.map(() => 'fp')}::text[],
        ${users.map(() => crypto.randomUUID())}::uuid[], ${users.map(() => crypto.randomUUID())}::uuid[], ${held}::uuid[],
        ${users.map(() => concertId)}::uuid[], ${users.map(() => null)}::bigint[], ${users.map(() => null)}::timestamptz[], ${users.map(() => 0)}::int[]::boolean[], ${advisoryLocks.idempotencyKeys}::bigint, ${ctx.db.sql.json(problems)}::json, ${wait}) order by n`

  /** Another transaction that keeps the row locks of some reservations until the function it returns is called. */
  const lockReservations = (ids: string[]) =>
    keptLocks(ctx.db.sql, (tx) => tx`select 1 from reservations where reservation_id = any(${ids}::uuid[]) for update`)

  test('each payment of a batch is decided and stored as alone: a decline undoes only its own steps', async () => {
    const { concertId, users, held } = await holdsOf('pt')
    const keys = ['k-a', null, 'k-c']
    const rows = await payMany(users, keys, held, concertId, false)
    expect([...rows]).toEqual([
      { n: 1, status: 201, code: null, replayed: false, contended: false },
      { n: 2, status: 201, code: null, replayed: false, contended: false },
      { n: 3, status: 402, code: 'INSUFFICIENT_BALANCE', replayed: false, contended: false },
    ])
    const state = await ctx.db.sql`
      select r.user_id, r.status, s.status as seat, coalesce(b.balance, 0)::int as balance
      from reservations r join seats s using (schedule_id, seat_number) left join balances b on b.user_id = r.user_id
      where r.reservation_id = any(${held}::uuid[]) order by r.user_id`
    expect([...state]).toEqual([
      { user_id: 'pt-a', status: 'PAID', seat: 'SOLD', balance: 4000 },
      { user_id: 'pt-b', status: 'PAID', seat: 'SOLD', balance: 4000 },
      { user_id: 'pt-c', status: 'HELD', seat: 'HELD', balance: 10 },
    ])
    const stored = await ctx.db.sql`select user_id, response_status from idempotency_keys where user_id = any(${users}) order by user_id`
    expect([...stored]).toEqual([{ user_id: 'pt-a', response_status: 201 }, { user_id: 'pt-c', response_status: 402 }])
    // Asked again, each key replays its own answer.
    const again = await payMany(users, keys, held, concertId, false)
    expect(again.map((r) => [r.status, r.replayed])).toEqual([[201, true], [409, false], [402, true]])
  })

  test.skipIf(kind === 'embedded')('in a batch, a payment whose reservation another transaction has locked is answered contended, changing nothing; alone it waits and pays', async () => {
    const { concertId, users, held } = await holdsOf('pl')
    const unlock = await lockReservations([held[0]!])
    const rows = await payMany(users.slice(0, 2), ['l-a', 'l-b'], held.slice(0, 2), concertId, false)
    expect(rows.map((r) => [r.status, r.contended])).toEqual([[null, true], [201, false]])
    const [key] = await ctx.db.sql`select count(*)::int as n from idempotency_keys where user_id = ${users[0]!}`
    expect(key!.n).toBe(0)
    const alone = watched(payMany(users.slice(0, 1), ['l-a'], held.slice(0, 1), concertId, true))
    await Bun.sleep(300)
    expect(alone.settled).toBe(false)
    await unlock()
    expect((await alone.promise).map((r) => [r.status, r.contended])).toEqual([[201, false]])
  })

  test.skipIf(kind === 'embedded')('a payment that met a locked reservation in a batch waits for that transaction and then pays, rather than answering meanwhile', async () => {
    const { concertId, users, held } = await holdsOf('pw', 4)
    const calls = paymentCalls(ctx.db.sql)
    const payOf = (i: number) => calls.pay({ userId: users[i]!, key: undefined, fingerprint: '' }, held[i]!, { session: { concertId, userId: users[i]!, seq: 1 }, ownUntilMs: null, storeEnded: false })
    const unlockFirstTwo = await lockReservations(held.slice(0, 2))
    const unlockFourth = await lockReservations([held[3]!])
    // Two payments alone fill both batches in flight, waiting (the second leaves at the end of the event
    // loop's turn, src/db/group-commit.ts); the next two then leave together.
    const alone = [payOf(0), payOf(1)]
    await endOfTurn()
    const fourth = watched(payOf(3))
    const third = payOf(2).catch((error: ServiceError) => error.code) // cannot afford its seat: declined in the same batch
    await unlockFirstTwo()
    expect((await Promise.all(alone)).map((p) => p.outcome.status)).toEqual([201, 201])
    expect(await third).toBe('INSUFFICIENT_BALANCE')
    await Bun.sleep(300)
    expect(fourth.settled).toBe(false)
    await unlockFourth()
    expect((await fourth.promise).outcome.status).toBe(201)
  })

  test('payments over HTTP at once, several users: every one paid once, balances and ledgers agree', async () => {
    const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 40, price: 100 })
    const buyers = await Promise.all(Array.from({ length: 40 }, (_, i) => shopper(ctx.server, `pm-${i}`, concertId, 1000)))
    const held = await Promise.all(buyers.map((who, i) => hold(ctx.server, who, scheduleIds[0]!, i + 1)))
    expect(held.map((h) => h.status)).toEqual(buyers.map(() => 201))
    const paid = await Promise.all(buyers.map((who, i) => pay(ctx.server, who, held[i]!.body.reservationId, `pm-key-${i}`)))
    expect(paid.map((p) => [p.status, p.body.balance])).toEqual(buyers.map(() => [201, 900]))
    const [sums] = await ctx.db.sql`
      select count(*)::int as payments, (select count(*)::int from seats where schedule_id = ${scheduleIds[0]!} and status = 'SOLD') as sold,
        (select sum(balance)::int from balances where user_id like 'pm-%') as balances,
        (select sum(amount)::int from ledger where user_id like 'pm-%') as ledger
      from payments where user_id like 'pm-%'`
    expect(sums).toEqual({ payments: 40, sold: 40, balances: 36_000, ledger: 36_000 })
  })
})

describeWith(['DATABASE_URL', 'REDIS_URL'], 'payments when the queue store has lost the line', () => {
  const ctx = onFreshDatabase({ REDIS_URL: serviceUrl('REDIS_URL')! })

  /** What a Redis restarted empty does to one line: its keys are gone, and so is its entry in the registry. */
  async function forgetLine(concertId: string) {
    const redis = new RedisClient(serviceUrl('REDIS_URL')!)
    try {
      const [, keys] = (await redis.send('SCAN', ['0', 'MATCH', `wr:{${concertId}}:*`, 'COUNT', '10000'])) as [string, string[]]
      expect(keys.length).toBeGreaterThan(0)
      await redis.send('UNLINK', keys)
      await redis.send('SREM', ['wr:lines', concertId])
    } finally {
      redis.close()
    }
  }

  test('a hold answered 201 can still be paid with its session\'s token; nothing else is let through (helper-36: a Redis restarted empty)', async () => {
    const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 4, price: 1000 })
    const ann = await shopper(ctx.server, 'lost-line-ann', concertId, 5000)
    const held = await hold(ctx.server, ann, scheduleIds[0]!, 1)
    expect(held.status).toBe(201)
    const other = await shopper(ctx.server, 'lost-line-ben', concertId, 5000)
    const hisHold = await hold(ctx.server, other, scheduleIds[0]!, 2)
    expect(hisHold.status).toBe(201)
    await forgetLine(concertId)

    // The line has forgotten Ann's session: no new hold.
    expect((await call(ctx.server, '/v1/queue/status', ann)).body.status).toBe('EXPIRED')
    const refused = await hold(ctx.server, ann, scheduleIds[0]!, 3)
    expect([refused.status, refused.body.code]).toEqual([403, 'QUEUE_NOT_ACTIVE'])
    // Her session's token does not pay someone else's hold; the token of her next place does not pay hers.
    expect((await pay(ctx.server, ann, hisHold.body.reservationId)).status).toBe(403)
    // (The forgotten line numbers its places from 1 again: Ben takes Ann's old number, so hers is new.)
    expect((await call(ctx.server, '/v1/queue/tokens', { token: other.token, body: { concertId } })).status).toBe(201)
    const rejoined = await call(ctx.server, '/v1/queue/tokens', { token: ann.token, body: { concertId } })
    expect(rejoined.status).toBe(201)
    expect((await pay(ctx.server, { token: ann.token, queueToken: rejoined.body.token }, held.body.reservationId)).status).toBe(403)
    // What she held she pays, once.
    const paid = await pay(ctx.server, ann, held.body.reservationId, 'lost-line-ann-1')
    expect([paid.status, paid.body.status]).toEqual([201, 'PAID'])
    expect((await pay(ctx.server, ann, held.body.reservationId, 'lost-line-ann-1')).body.paymentId).toBe(paid.body.paymentId)
    expect((await call(ctx.server, '/v1/balance', ann)).body.balance).toBe(4000)
  })
})

/** A payment as pay_many decides it after a guard that read `guarded`: its status, or the code it was refused with. */
async function decidedPayment(calls: ReturnType<typeof paymentCalls>, who: { userId: string; key: string }, reservationId: string, guarded: GuardedSession) {
  const request = { ...who, fingerprint: fingerprint('payment', { reservationId }) }
  try {
    return (await calls.pay(request, reservationId, guarded)).outcome.status
  } catch (error) {
    return (error as ServiceError).code
  }
}

// A payment and a cancel of one hold sent at once, the session past its own time: the payment passed the
// guard while the session was ACTIVE (its hold kept it so) and reached the hold after the cancel, which
// took the last live hold and so ended the session: 409 HOLD_EXPIRED, which no order of the two explains -
// before the cancel it pays, after it the guard refuses it (the model-based test on the Postgres store,
// MODEL_SEED=-1693074146 MODEL_PATH=17). Here the guard runs first and the payment after the cancel.
onEachDatabase('a payment that reaches its hold after a cancel', { QUEUE_ACTIVE_TTL_SECONDS: '2', HOLD_TTL_SECONDS: '30', MAX_HOLDS_PER_USER: '4' }, (ctx) => {
  test('that ended the session is 403 as after it, stored under no key; after one that did not end it, 409 HOLD_EXPIRED', async () => {
    const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 4, price: 100 })
    const calls = paymentCalls(ctx.server.sql)
    const cancel = (s: { token: string }, reservationId: string) => call(ctx.server, `/v1/reservations/${reservationId}`, { ...s, method: 'DELETE' })
    // The guard now; then `between`; then the payment itself, as pay_many decides it.
    const payAcross = async (userId: string, queueToken: string, reservationId: string, key: string, between: () => Promise<unknown>) => {
      const { ticket, ownUntilMs } = await ctx.server.room.requireSessionForPayment(userId, queueToken)
      expect(ownUntilMs).not.toBeNull()
      await between()
      return decidedPayment(calls, { userId, key }, reservationId, { session: ticket, ownUntilMs, storeEnded: false })
    }
    const bob = await shopper(ctx.server, 'pc-bob', concertId, 1000)
    const carol = await shopper(ctx.server, 'pc-carol', concertId, 1000)
    const alice = await shopper(ctx.server, 'pc-alice', concertId, 1000)
    // Within the session's own time a cancel leaves it ACTIVE: the hold is no longer live.
    const bobs = await hold(ctx.server, bob, scheduleIds[0]!, 1)
    expect(await payAcross('pc-bob', bob.queueToken, bobs.body.reservationId, 'k-bob', () => cancel(bob, bobs.body.reservationId))).toBe(409)

    const alices = await hold(ctx.server, alice, scheduleIds[0]!, 2)
    const [carols, carolsOther] = [await hold(ctx.server, carol, scheduleIds[0]!, 3), await hold(ctx.server, carol, scheduleIds[0]!, 4)]
    await Bun.sleep(2_300) // past the sessions' own time: their holds keep them ACTIVE
    // Another hold still live: the session goes on, the cancelled one is no longer payable.
    expect(await payAcross('pc-carol', carol.queueToken, carols.body.reservationId, 'k-carol', () => cancel(carol, carols.body.reservationId))).toBe(409)
    expect((await call(ctx.server, '/v1/queue/status', carol)).body.status).toBe('ACTIVE')
    expect(carolsOther.status).toBe(201)
    // The last live hold cancelled: the session is over, and the payment answers as the guard does after it.
    expect(await payAcross('pc-alice', alice.queueToken, alices.body.reservationId, 'k-alice', async () => {
      expect((await cancel(alice, alices.body.reservationId)).status).toBe(200)
      expect((await call(ctx.server, '/v1/queue/status', alice)).body.status).not.toBe('ACTIVE')
    })).toBe('QUEUE_NOT_ACTIVE')
    const stored = await ctx.db.sql`select user_id from idempotency_keys where user_id like 'pc-%' order by user_id`
    expect(stored.map((r) => r.user_id)).toEqual(['pc-bob', 'pc-carol'])
    const [money] = await ctx.db.sql`select count(*)::int as n from payments p join reservations r using (reservation_id) where r.user_id like 'pc-%'`
    expect(money!.n).toBe(0)
  })
})

// The store said the session is over (an operator ended it, or the store lost it) while a hold of it was
// live: the payment goes ahead to pay that hold. Cancelled before the payment reached it, the payment
// answers as the guard did, 403, stored under no key (helper-44: an operator's end, a cancel and a
// payment at once, 409 HOLD_EXPIRED once in 20).
onEachDatabase('a payment let through to pay a live hold of a session the store called over', {}, (ctx) => {
  test('answers 403 as the guard did when the hold was cancelled before it, and stores nothing', async () => {
    const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 2, price: 100 })
    const calls = paymentCalls(ctx.server.sql)
    const dave = await shopper(ctx.server, 'ps-dave', concertId, 1000)
    const held = await hold(ctx.server, dave, scheduleIds[0]!, 1)
    const ticket = ctx.server.room.ticket('ps-dave', dave.queueToken)
    expect((await call(ctx.server, `/v1/reservations/${held.body.reservationId}`, { ...dave, method: 'DELETE' })).status).toBe(200)
    const answer = (storeEnded: boolean, key: string) =>
      decidedPayment(calls, { userId: 'ps-dave', key }, held.body.reservationId, { session: ticket, ownUntilMs: null, storeEnded })
    expect(await answer(true, 'k-ended')).toBe('QUEUE_NOT_ACTIVE')
    expect(await answer(false, 'k-active')).toBe(409) // the session ACTIVE (within its own time): the hold is no longer live
    const stored = await ctx.db.sql`select idempotency_key from idempotency_keys where user_id = 'ps-dave'`
    expect(stored.map((r) => r.idempotency_key)).toEqual(['k-active'])
  })
})
