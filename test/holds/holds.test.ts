import { describe, expect, test } from 'bun:test'
import { ADMIN_KEY, call, onEachDatabase, onFreshDatabase, testServer, type SuiteContext } from '../support/app'
import { describeWith, serviceUrl } from '../support/services'
import { holds } from '../../src/holds/holds'
import { endOfTurn, keptLocks, watched } from '../support/locks'
import { createConcert, hold, join, pay, shopper, userToken } from '../support/scenario'

onEachDatabase('seat holds', { MAX_HOLDS_PER_USER: '2', HOLD_TTL_SECONDS: '300' }, (ctx) => {

  test('a hold is HELD for exactly HOLD_TTL_SECONDS and shows the seat as HELD', async () => {
    const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 3, price: 700 })
    const alice = await shopper(ctx.server, 'h-alice', concertId)
    const held = await hold(ctx.server, alice, scheduleIds[0]!, 2)
    expect(held.status).toBe(201)
    expect(held.body).toMatchObject({ scheduleId: scheduleIds[0], seatNumber: 2, price: 700, status: 'HELD' })
    expect(Date.parse(held.body.expiresAt) - Date.parse(held.body.createdAt)).toBe(300_000)

    const seats = await call(ctx.server, `/v1/schedules/${scheduleIds[0]}/seats`, alice)
    expect(seats.body.map((s: { status: string }) => s.status)).toEqual(['AVAILABLE', 'HELD', 'AVAILABLE'])
    const available = await call(ctx.server, `/v1/schedules/${scheduleIds[0]}/seats?available=true`, alice)
    expect(available.body.map((s: { number: number }) => s.number)).toEqual([1, 3])
    const schedules = await call(ctx.server, `/v1/concerts/${concertId}/schedules`, alice)
    expect(schedules.body[0]).toMatchObject({ totalSeats: 3, availableSeats: 2 })
  })

  test('a hold lapses at the very millisecond of its expiresAt: the times it is shown are the times it is decided by', async () => {
    const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 4 })
    const alice = await shopper(ctx.server, 'h-alice-ms', concertId)
    for (const seat of [1, 2, 3]) {
      const held = await hold(ctx.server, alice, scheduleIds[0]!, seat)
      if (held.status === 409) break // the hold limit (2)
      const [row] = await ctx.db.sql`
        select epoch_us(r.expires_at)::text as expires, epoch_us(r.created_at)::text as created, epoch_us(s.hold_expires_at)::text as seat
        from reservations r join seats s using (schedule_id, seat_number) where r.reservation_id = ${held.body.reservationId}`
      // Exact to the microsecond: a lapse decided after the shown expiresAt would refuse a hold sent just after it.
      expect(row).toEqual({
        expires: String(Date.parse(held.body.expiresAt) * 1000),
        created: String(Date.parse(held.body.createdAt) * 1000),
        seat: String(Date.parse(held.body.expiresAt) * 1000),
      })
    }
  })

  test('a held seat cannot be held by anyone else: 409 SEAT_UNAVAILABLE', async () => {
    const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 1 })
    const alice = await shopper(ctx.server, 'h-alice2', concertId)
    const bob = await shopper(ctx.server, 'h-bob2', concertId)
    expect((await hold(ctx.server, alice, scheduleIds[0]!, 1)).status).toBe(201)
    const lost = await hold(ctx.server, bob, scheduleIds[0]!, 1)
    expect(lost.status).toBe(409)
    expect(lost.body.code).toBe('SEAT_UNAVAILABLE')
    expect(lost.body.detail).toBe('The seat is held or sold')
    expect((await hold(ctx.server, alice, scheduleIds[0]!, 1)).body.code).toBe('SEAT_UNAVAILABLE')
  })

  test('a taken seat is refused without writing anything (not even the lock row of the user)', async () => {
    const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 1 })
    const alice = await shopper(ctx.server, 'h-alice-ro', concertId)
    const bob = await shopper(ctx.server, 'h-bob-ro', concertId)
    expect((await hold(ctx.server, alice, scheduleIds[0]!, 1)).status).toBe(201)
    expect((await hold(ctx.server, bob, scheduleIds[0]!, 1)).body.code).toBe('SEAT_UNAVAILABLE')
    const [written] = await ctx.db.sql`select count(*)::int as n from users where user_id = 'h-bob-ro'`
    expect(written!.n).toBe(0)
  })

  test('an unknown seat or schedule is 404 and creates nothing', async () => {
    const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 2 })
    const alice = await shopper(ctx.server, 'h-alice3', concertId)
    const noSeat = await hold(ctx.server, alice, scheduleIds[0]!, 98765)
    expect(noSeat.body.code).toBe('NOT_FOUND')
    // No echo of the input (PRODUCT.md, in production): the client knows which seat it asked for.
    expect(noSeat.body.detail).not.toMatch(/98765|[0-9a-f]{8}-/)
    expect((await hold(ctx.server, alice, crypto.randomUUID(), 1)).body.code).toBe('NOT_FOUND')
    const [row] = await ctx.db.sql`select count(*)::int as n from reservations where user_id = 'h-alice3'`
    expect(row!.n).toBe(0)
  })

  test('MAX_HOLDS_PER_USER live holds at most: 409 HOLD_LIMIT_REACHED', async () => {
    const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 5 })
    const alice = await shopper(ctx.server, 'h-alice4', concertId)
    expect((await hold(ctx.server, alice, scheduleIds[0]!, 1)).status).toBe(201)
    expect((await hold(ctx.server, alice, scheduleIds[0]!, 2)).status).toBe(201)
    const third = await hold(ctx.server, alice, scheduleIds[0]!, 3)
    expect(third.status).toBe(409)
    expect(third.body.code).toBe('HOLD_LIMIT_REACHED')
  })

  test('cancelling releases the seat at once; cancelling again is harmless', async () => {
    const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 1 })
    const alice = await shopper(ctx.server, 'h-alice5', concertId)
    const bob = await shopper(ctx.server, 'h-bob5', concertId)
    const held = await hold(ctx.server, alice, scheduleIds[0]!, 1)
    const cancelled = await call(ctx.server, `/v1/reservations/${held.body.reservationId}`, { ...alice, method: 'DELETE' })
    expect(cancelled.status).toBe(200)
    expect(cancelled.body.status).toBe('CANCELLED')
    expect((await call(ctx.server, `/v1/reservations/${held.body.reservationId}`, { ...alice, method: 'DELETE' })).body.status).toBe('CANCELLED')
    expect((await hold(ctx.server, bob, scheduleIds[0]!, 1)).status).toBe(201)
  })

  test("another user's reservation is 404 to read or cancel, and never listed", async () => {
    const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 1 })
    const alice = await shopper(ctx.server, 'h-alice6', concertId)
    const mallory = { token: await userToken(ctx.server, 'h-mallory6') }
    const held = await hold(ctx.server, alice, scheduleIds[0]!, 1)
    const id = held.body.reservationId
    expect((await call(ctx.server, `/v1/reservations/${id}`, mallory)).status).toBe(404)
    expect((await call(ctx.server, `/v1/reservations/${id}`, { ...mallory, method: 'DELETE' })).status).toBe(404)
    expect((await call(ctx.server, '/v1/reservations', mallory)).body).toEqual([])
    expect((await call(ctx.server, `/v1/reservations/${id}`, alice)).body.status).toBe('HELD')
    expect((await call(ctx.server, '/v1/reservations', alice)).body.map((r: { reservationId: string }) => r.reservationId)).toEqual([id])
  })

  test('holding needs an ACTIVE queue token of the concert', async () => {
    const first = await createConcert(ctx.server, { seats: 1 })
    const other = await createConcert(ctx.server, { seats: 1 })
    const alice = await shopper(ctx.server, 'h-alice7', other.concertId)
    const noToken = await call(ctx.server, '/v1/reservations', { token: alice.token, body: { scheduleId: first.scheduleIds[0], seatNumber: 1 } })
    expect(noToken.status).toBe(401)
    expect(noToken.body.code).toBe('QUEUE_TOKEN_INVALID')
    const otherConcert = await hold(ctx.server, alice, first.scheduleIds[0]!, 1)
    expect(otherConcert.status).toBe(403)
    expect(otherConcert.body.code).toBe('QUEUE_NOT_ACTIVE')
    // A WAITING token (nobody ran admission for this user yet).
    const bobToken = await userToken(ctx.server, 'h-bob7')
    const waiting = await join(ctx.server, bobToken, first.concertId)
    expect(waiting.status).toBe('WAITING')
    const early = await hold(ctx.server, { token: bobToken, queueToken: waiting.token }, first.scheduleIds[0]!, 1)
    expect(early.status).toBe(403)
    expect(early.body.code).toBe('QUEUE_NOT_ACTIVE')
    const [row] = await ctx.db.sql`select count(*)::int as n from reservations where schedule_id = ${first.scheduleIds[0]!}`
    expect(row!.n).toBe(0)
  })

  test('a hold and a payment both commit waiting for the disk (a 201 hold survives a database crash)', async () => {
    const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 1, price: 500 })
    await shopper(ctx.server, 'h-alice-d', concertId, 1000)
    const commitMode = 'select current_setting($$synchronous_commit$$) as mode'
    const held = await ctx.db.sql.begin(async (tx) => {
      const [row] = await tx`select * from hold_seats(array[${crypto.randomUUID()}]::uuid[], array['h-alice-d'], array[${scheduleIds[0]!}]::uuid[], array[1], array[null]::bigint[], 300, 2, true)`
      const [setting] = await tx.unsafe(commitMode)
      return { reservationId: row!.reservation_id as string, mode: setting!.mode as string }
    })
    expect(held.mode).toBe('on')
    const paid = await ctx.db.sql.begin(async (tx) => {
      const [row] = await tx`select * from pay_reservation(${crypto.randomUUID()}::uuid, ${crypto.randomUUID()}::uuid, ${held.reservationId}::uuid, 'h-alice-d', ${concertId}::uuid, true)`
      const [setting] = await tx.unsafe(commitMode)
      return { paid: row!.paid as boolean, mode: setting!.mode as string }
    })
    expect(paid).toEqual({ paid: true, mode: 'on' })
  })

  test('a hold extends the queue session to at least the hold expiry', async () => {
    const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 1 })
    const alice = await shopper(ctx.server, 'h-alice8', concertId)
    // Shorten the session as if it were about to run out.
    await ctx.db.sql`update queue_sessions set active_until = now() + interval '5 seconds' where user_id = 'h-alice8'`
    const held = await hold(ctx.server, alice, scheduleIds[0]!, 1)
    const status = await call(ctx.server, '/v1/queue/status', alice)
    expect(status.body.status).toBe('ACTIVE')
    expect(Date.parse(status.body.activeUntil)).toBeGreaterThanOrEqual(Date.parse(held.body.expiresAt))
  })
})

/** A refused hold left no trace: no reservation of the user, not even a CANCELLED one, and both seats AVAILABLE to `reader`. */
async function expectNoTrace(ctx: SuiteContext, who: { token: string; queueToken: string }, userId: string, scheduleId: string, reader: { token: string; queueToken: string }) {
  expect((await call(ctx.server, '/v1/reservations', who)).body).toEqual([])
  const seats = await call(ctx.server, `/v1/schedules/${scheduleId}/seats`, reader)
  expect(seats.body.map((s: { status: string }) => s.status)).toEqual(['AVAILABLE', 'AVAILABLE'])
  const [rows] = await ctx.db.sql`select count(*)::int as n from reservations where user_id = ${userId}`
  expect(rows!.n).toBe(0)
}

onEachDatabase('hold lapse', { HOLD_TTL_SECONDS: '1', MAX_HOLDS_PER_USER: '1' }, (ctx) => {

  test('a lapsed hold is AVAILABLE to everyone before any job runs, and reads EXPIRED', async () => {
    const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 2, price: 500 })
    const alice = await shopper(ctx.server, 'l-alice', concertId, 1000)
    const bob = await shopper(ctx.server, 'l-bob', concertId)
    const held = await hold(ctx.server, alice, scheduleIds[0]!, 1)
    expect(held.status).toBe(201)
    expect((await hold(ctx.server, alice, scheduleIds[0]!, 2)).body.code).toBe('HOLD_LIMIT_REACHED')
    await Bun.sleep(1100)

    const seats = await call(ctx.server, `/v1/schedules/${scheduleIds[0]}/seats`, bob)
    expect(seats.body[0].status).toBe('AVAILABLE')
    expect((await call(ctx.server, `/v1/reservations/${held.body.reservationId}`, alice)).body.status).toBe('EXPIRED')
    // The lapsed hold no longer counts towards the limit, and the seat can be taken by someone else.
    expect((await hold(ctx.server, bob, scheduleIds[0]!, 1)).status).toBe(201)
    expect((await hold(ctx.server, alice, scheduleIds[0]!, 2)).status).toBe(201)
  })

  test('the cleanup job marks lapsed holds EXPIRED and frees their seats, and touches nothing live', async () => {
    const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 1 })
    const alice = await shopper(ctx.server, 'l-alice2', concertId)
    const held = await hold(ctx.server, alice, scheduleIds[0]!, 1)
    expect((await ctx.server.app.handle(new Request('http://localhost/health'))).status).toBe(200)
    const before = await ctx.server.holds.lapse()
    const [live] = await ctx.db.sql`select status from reservations where reservation_id = ${held.body.reservationId}`
    expect(live!.status).toBe('HELD')
    await Bun.sleep(1100)
    const after = await ctx.server.holds.lapse()
    expect(after.lapsed).toBeGreaterThanOrEqual(1)
    expect(before.lapsed + after.lapsed).toBeGreaterThanOrEqual(1)
    const [row] = await ctx.db.sql`
      select r.status, s.status as seat_status, s.reservation_id
      from reservations r join seats s using (schedule_id, seat_number)
      where r.reservation_id = ${held.body.reservationId}`
    expect(row).toMatchObject({ status: 'EXPIRED', seat_status: 'AVAILABLE', reservation_id: null })
  })

  test('a session that ran out behind the back of an instance that trusts it: the hold itself refuses it (403), and no reservation or held seat is left behind', async () => {
    const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 2, price: 700 })
    const alice = await shopper(ctx.server, 'h-lapsing', concertId) // this instance saw it ACTIVE moments ago
    // On the Postgres store the session is a row of this database, and the hold reads it in its own
    // statement (sql/functions/hold_seats.sql): it ran out a moment ago.
    await ctx.db.sql`update queue_sessions set active_until = now() - interval '1 millisecond' where user_id = 'h-lapsing'`
    const refused = await hold(ctx.server, alice, scheduleIds[0]!, 1)
    expect([refused.status, refused.body.code]).toEqual([403, 'QUEUE_NOT_ACTIVE'])
    await expectNoTrace(ctx, alice, 'h-lapsing', scheduleIds[0]!, await shopper(ctx.server, 'h-lapsing-next', concertId))
  })

  test('a line marked sold out extends no session: a hold there is refused (403) and leaves no trace, as the store would refuse to extend it', async () => {
    const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 2 })
    const alice = await shopper(ctx.server, 'h-sold-out-line', concertId)
    const reader = await shopper(ctx.server, 'h-sold-out-reader', concertId)
    // Marked by hand while seats are free (the admission tick marks a line only once none is left).
    await ctx.db.sql`update queue_lines set sold_out = true where concert_id = ${concertId}`
    const refused = await hold(ctx.server, alice, scheduleIds[0]!, 1)
    expect([refused.status, refused.body.code]).toEqual([403, 'QUEUE_NOT_ACTIVE'])
    await ctx.db.sql`update queue_lines set sold_out = false where concert_id = ${concertId}`
    await expectNoTrace(ctx, alice, 'h-sold-out-line', scheduleIds[0]!, reader)
  })

  test('a hold extends its session in its own commit: until a second past the hold lapses, never shorter; a refused hold extends nothing', async () => {
    const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 2 })
    const alice = await shopper(ctx.server, 'h-extends', concertId)
    const until = async () => (await ctx.db.sql`select active_until from queue_sessions where user_id = 'h-extends' and status = 'ACTIVE'`)[0]!.active_until as Date
    await ctx.db.sql`update queue_sessions set active_until = now() + interval '200 milliseconds' where user_id = 'h-extends'`
    const held = await hold(ctx.server, alice, scheduleIds[0]!, 1)
    expect(held.status).toBe(201)
    // HOLD_TTL_SECONDS is 1 here: the session lasts until a second past the hold's lapse (HOLD_MARGIN_MS).
    expect((await until()).getTime()).toBe(Date.parse(held.body.expiresAt) + 1000)
    const later = new Date(Date.now() + 60_000)
    await ctx.db.sql`update queue_sessions set active_until = ${later} where user_id = 'h-extends'`
    expect((await hold(ctx.server, alice, scheduleIds[0]!, 2)).body.code).toBe('HOLD_LIMIT_REACHED')
    expect((await until()).getTime()).toBe(later.getTime())
  })
})

/** The operator ends a user's session (admin API). */
const endSession = (server: SuiteContext['server'], concertId: string, userId: string) =>
  call(server, `/v1/admin/concerts/${concertId}/queue/sessions/${userId}`, { method: 'DELETE', headers: { 'x-admin-key': ADMIN_KEY } })

/** A hold, with `beforeExtend` run when the store is asked to extend the session; counts those asks. */
/** A shopper whose session this instance has just confirmed ACTIVE (a seat map read), and seat 1 of a new concert locked by another transaction. */
async function trustedAndBlocked(ctx: SuiteContext, userId: string) {
  const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 2 })
  const scheduleId = scheduleIds[0]!
  const who = await shopper(ctx.server, userId, concertId)
  expect((await call(ctx.server, `/v1/schedules/${scheduleId}/seats`, who)).status).toBe(200)
  const release = await keptLocks(ctx.db.sql, (tx) => tx`select 1 from seats where schedule_id = ${scheduleId} and seat_number = 1 for update`)
  return { concertId, scheduleId, who, release }
}

/** Counts the store's answers to `extend`, and resolves `firstAnswer` when the first comes. */
function watchExtends(server: SuiteContext['server']) {
  const store = server.store as unknown as Record<string, Function>
  const extend = store.extend!
  const answered: unknown[] = []
  let answer!: () => void
  const firstAnswer = new Promise<void>((resolve) => (answer = resolve))
  store.extend = async (...args: unknown[]) => {
    const view = await extend.apply(server.store, args)
    answered.push(view)
    answer()
    return view
  }
  return { answered, firstAnswer, restore: () => void (store.extend = extend) }
}

async function holdWatchingExtend(server: SuiteContext['server'], who: { token: string; queueToken: string }, scheduleId: string, seat: number, beforeExtend = async () => {}) {
  const store = server.store as unknown as Record<string, Function>
  const extend = store.extend!
  let extended = 0
  store.extend = async (...args: unknown[]) => {
    extended++
    await beforeExtend()
    return extend.apply(server.store, args)
  }
  try {
    const reply = await hold(server, who, scheduleId, seat)
    return { reply, extended }
  } finally {
    store.extend = extend
  }
}

onEachDatabase('sessions an operator ends', { MAX_HOLDS_PER_USER: '2', HOLD_TTL_SECONDS: '300' }, (ctx) => {
  test("an operator's end releases the session's live holds at once, and holds of it are refused before any write, also where it was seen ACTIVE moments ago", async () => {
    const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 3, price: 700 })
    const alice = await shopper(ctx.server, 'h-ended-by-op', concertId, 5000)
    const bob = await shopper(ctx.server, 'h-after-op', concertId)
    const held = await hold(ctx.server, alice, scheduleIds[0]!, 1) // this instance now trusts the session
    expect(held.status).toBe(201)

    expect((await call(ctx.server, `/v1/schedules/${scheduleIds[0]!}/seats`, alice)).status).toBe(200)
    const ended = await endSession(ctx.server, concertId, 'h-ended-by-op')
    expect([ended.status, ended.body]).toEqual([200, { ended: true, holdsReleased: 1 }])
    // The instance that ended it no longer answers the seat map from its word (helper-58: for 30 s more).
    const seats = await call(ctx.server, `/v1/schedules/${scheduleIds[0]!}/seats`, alice)
    expect([seats.status, seats.body.code]).toEqual([403, 'QUEUE_NOT_ACTIVE'])
    // The hold could no longer be paid: it is released, and the seat is anyone's.
    expect((await call(ctx.server, `/v1/reservations/${held.body.reservationId}`, alice)).body.status).toBe('CANCELLED')
    expect((await hold(ctx.server, bob, scheduleIds[0]!, 1)).status).toBe(201)

    // A hold in the ended session is refused by the hold itself: nothing is written, so nothing is undone.
    const { reply: refused, extended } = await holdWatchingExtend(ctx.server, alice, scheduleIds[0]!, 2)
    expect([refused.status, refused.body.code]).toEqual([403, 'QUEUE_NOT_ACTIVE'])
    expect(extended).toBe(0)
    const seq = ctx.server.room.ticket(alice.userId, alice.queueToken).seq
    const [direct] = await ctx.db.sql`select reservation_id, session_ended from hold_seats(array[${crypto.randomUUID()}]::uuid[], array['h-ended-by-op'], array[${scheduleIds[0]!}]::uuid[], array[3], array[${seq}]::bigint[], 300, 2, true)`
    expect(direct).toEqual({ reservation_id: null, session_ended: true })
    const [left] = await ctx.db.sql`select count(*)::int as n from reservations where user_id = 'h-ended-by-op' and status = 'HELD'`
    expect(left!.n).toBe(0)
    // Its token cannot pay either; joining again gives a fresh session that may hold.
    const paid = await call(ctx.server, '/v1/payments', { ...alice, body: { reservationId: held.body.reservationId } })
    expect([paid.status, paid.body.code]).toEqual([403, 'QUEUE_NOT_ACTIVE'])
  })

  test("an operator's end of a session with nothing held releases nothing, and a second end is 404", async () => {
    const { concertId } = await createConcert(ctx.server, { seats: 1 })
    await shopper(ctx.server, 'h-ended-empty', concertId)
    const first = await endSession(ctx.server, concertId, 'h-ended-empty')
    expect([first.status, first.body]).toEqual([200, { ended: true, holdsReleased: 0 }])
    const again = await endSession(ctx.server, concertId, 'h-ended-empty')
    expect([again.status, again.body.code]).toEqual([404, 'NOT_FOUND'])
  })

  // helper-41: a payment and an operator's end sent at once answered 201 and 200 (nothing released), and
  // the session read EXPIRED: no order of the two explains that. The payment ends the session in Postgres
  // and then tells the store; the operator's end can reach the store in between.
  test("an operator's end between a payment that ended the session and the store hearing of it: 404, as after it, and the session reads DONE", async () => {
    const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 1, price: 700 })
    const alice = await shopper(ctx.server, 'h-op-after-pay', concertId, 5000)
    const held = await hold(ctx.server, alice, scheduleIds[0]!, 1)
    expect((await pay(ctx.server, alice, held.body.reservationId)).status).toBe(201)
    expect((await endSession(ctx.server, concertId, 'h-op-after-pay')).status).toBe(404)
    // As if the store had not heard of the payment's end yet.
    await ctx.db.sql`update queue_sessions set status = 'ACTIVE', ended_at = null where user_id = 'h-op-after-pay'`
    const ended = await endSession(ctx.server, concertId, 'h-op-after-pay')
    expect([ended.status, ended.body.code]).toEqual([404, 'NOT_FOUND'])
    const [recorded] = await ctx.db.sql`select count(*)::int as n from queue_sessions_ended where user_id = 'h-op-after-pay'`
    expect(recorded!.n).toBe(0)
    expect((await call(ctx.server, '/v1/queue/status', alice)).body.status).toBe('DONE')
    expect((await call(ctx.server, `/v1/reservations/${held.body.reservationId}`, alice)).body.status).toBe('PAID')
  })

  test("an operator's end of a session that paid and still holds: the hold is released, and the session reads DONE (it paid)", async () => {
    const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 2, price: 700 })
    const alice = await shopper(ctx.server, 'h-op-paid-holding', concertId, 5000)
    const paid = await hold(ctx.server, alice, scheduleIds[0]!, 1)
    const kept = await hold(ctx.server, alice, scheduleIds[0]!, 2)
    expect((await pay(ctx.server, alice, paid.body.reservationId)).status).toBe(201)
    const ended = await endSession(ctx.server, concertId, 'h-op-paid-holding')
    expect([ended.status, ended.body]).toEqual([200, { ended: true, holdsReleased: 1 }])
    expect((await call(ctx.server, `/v1/reservations/${kept.body.reservationId}`, alice)).body.status).toBe('CANCELLED')
    expect((await call(ctx.server, '/v1/queue/status', alice)).body.status).toBe('DONE')
  })
})

/** Another transaction that keeps the row locks of some seats until the function it returns is called. */
const lockSeats = (sql: SuiteContext['db']['sql'], scheduleId: string, seats: number[]) =>
  keptLocks(sql, (tx) => tx`select 1 from seats where schedule_id = ${scheduleId} and seat_number = any(${seats}::int[]) for update`)

// Holds that arrive together are decided in one call and one commit (sql/functions/hold_seats.sql). A seat
// whose row another transaction holds locked is not waited for inside a batch (that could close a cycle
// of waits between batches); that hold is asked again alone, and waits, as a hold alone always did.
// The embedded database has one connection: no other transaction can hold a lock there.
onEachDatabase('holds decided together', { MAX_HOLDS_PER_USER: '2', HOLD_TTL_SECONDS: '300' }, (ctx, kind) => {
  test.skipIf(kind === 'embedded')('in a batch, a hold whose seat another transaction has locked is answered contended at once and the others are decided; alone it waits for the lock', async () => {
    const { scheduleIds } = await createConcert(ctx.server, { seats: 2 })
    const scheduleId = scheduleIds[0]!
    const unlock = await lockSeats(ctx.db.sql, scheduleId, [1])
    const [first, second] = [crypto.randomUUID(), crypto.randomUUID()]
    const batch = await ctx.db.sql`
      select n, reservation_id, contended from hold_seats(array[${first}, ${second}]::uuid[], array['hb-a', 'hb-b'],
        array[${scheduleId}, ${scheduleId}]::uuid[], array[1, 2], array[null, null]::bigint[], 300, 2, false) order by n`
    expect([...batch]).toEqual([
      { n: 1, reservation_id: null, contended: true },
      { n: 2, reservation_id: second, contended: false },
    ])
    const alone = watched(ctx.db.sql`
      select reservation_id, contended from hold_seats(array[${first}]::uuid[], array['hb-a'], array[${scheduleId}]::uuid[],
        array[1], array[null]::bigint[], 300, 2, true)`)
    await Bun.sleep(300)
    expect(alone.settled).toBe(false)
    await unlock()
    expect([...(await alone.promise)]).toEqual([{ reservation_id: first, contended: false }])
  })

  test('a batch decides each hold as it would be decided alone: made, no such seat, the hold limit, a taken seat, a session that is over, and two holds of one seat', async () => {
    const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 6 })
    const scheduleId = scheduleIds[0]!
    const alone = (user: string, seat: number, seq: number | null = null) => ctx.db.sql`
      select reservation_id from hold_seats(array[${crypto.randomUUID()}]::uuid[], array[${user}], array[${scheduleId}]::uuid[],
        array[${seat}]::int[], array[${seq}]::bigint[], 300, 2, true)`
    await alone('hm-full', 3) // hm-full now holds two seats, its limit
    await alone('hm-full', 4)
    await ctx.db.sql`insert into queue_sessions_ended (user_id, concert_id, queue_seq) values ('hm-over', ${concertId}, 7)`
    const wanted = [
      ['hm-a', 1, 1], // made
      ['hm-b', 1, 1], // the same seat as hm-a's: one of the two takes it, the other is refused as taken
      ['hm-c', 99, 1], // no such seat
      ['hm-full', 5, 1], // over the hold limit
      ['hm-late', 3, 1], // held by hm-full
      ['hm-over', 6, 7], // an operator ended this session
      ['hm-z', 2, null], // made (no queue session known)
    ] as const
    const rows = await ctx.db.sql`
      select n, reservation_id is not null as made, seat_number, live_holds::int, seat_exists, session_ended, contended
      from hold_seats(${wanted.map(() => crypto.randomUUID())}::uuid[], ${wanted.map((w) => w[0])}::text[],
        ${wanted.map(() => scheduleId)}::uuid[], ${wanted.map((w) => w[1])}::int[], ${wanted.map((w) => w[2])}::bigint[], 300, 2, false)
      order by n`
    const [a, b, ...rest] = [...rows]
    expect([a!.made, b!.made].sort()).toEqual([false, true])
    const refusedOfSeatOne = a!.made ? b! : a!
    expect(refusedOfSeatOne).toMatchObject({ seat_exists: true, session_ended: false, contended: false, live_holds: 0 })
    expect(rest).toEqual([
      { n: 3, made: false, seat_number: null, live_holds: 0, seat_exists: false, session_ended: false, contended: false },
      { n: 4, made: false, seat_number: null, live_holds: 2, seat_exists: true, session_ended: false, contended: false },
      { n: 5, made: false, seat_number: null, live_holds: 0, seat_exists: true, session_ended: false, contended: false },
      { n: 6, made: false, seat_number: null, live_holds: 0, seat_exists: true, session_ended: true, contended: false },
      { n: 7, made: true, seat_number: 2, live_holds: 0, seat_exists: true, session_ended: false, contended: false },
    ])
    const held = await ctx.db.sql`select user_id, seat_number from reservations where schedule_id = ${scheduleId} and status = 'HELD' order by seat_number`
    expect(held.map((r) => r.seat_number)).toEqual([1, 2, 3, 4])
    const [seats] = await ctx.db.sql`
      select count(*) filter (where s.status = 'HELD' and s.reservation_id = r.reservation_id)::int as matched
      from seats s left join reservations r on r.schedule_id = s.schedule_id and r.seat_number = s.seat_number and r.status = 'HELD'
      where s.schedule_id = ${scheduleId}`
    expect(seats!.matched).toBe(4)
  })

  test.skipIf(kind === 'embedded')('a hold that met a locked seat in a batch waits for that transaction and is then decided: 201 when the seat stayed free, not a 409 meanwhile', async () => {
    const { scheduleIds } = await createConcert(ctx.server, { seats: 4 })
    const scheduleId = scheduleIds[0]!
    const seatHolds = holds(ctx.db.sql, { holdTtlSeconds: 300, maxHoldsPerUser: 2 })
    const unlockFirstTwo = await lockSeats(ctx.db.sql, scheduleId, [1, 2])
    const unlockThird = await lockSeats(ctx.db.sql, scheduleId, [3])
    // Two holds alone fill both batches in flight, waiting for seats 1 and 2 (the second leaves at the end
    // of the event loop's turn, src/db/group-commit.ts); the next two wait and then leave together as one batch.
    const alone = [seatHolds.hold('hb-1', scheduleId, 1, 1), seatHolds.hold('hb-2', scheduleId, 2, 1)]
    await endOfTurn()
    const third = watched(seatHolds.hold('hb-3', scheduleId, 3, 1))
    const fourth = watched(seatHolds.hold('hb-4', scheduleId, 4, 1))
    await Bun.sleep(100)
    expect([third.settled, fourth.settled]).toEqual([false, false])
    await unlockFirstTwo()
    expect((await Promise.all(alone)).map((r) => r.seatNumber)).toEqual([1, 2])
    expect((await fourth.promise).seatNumber).toBe(4)
    await Bun.sleep(300)
    expect(third.settled).toBe(false) // seat 3 is still locked: no answer yet, in particular no 409
    await unlockThird()
    expect((await third.promise).seatNumber).toBe(3)
    const [rows] = await ctx.db.sql`select count(*)::int as n from reservations where schedule_id = ${scheduleId} and status = 'HELD'`
    expect(rows!.n).toBe(4)
  })
})

onEachDatabase('a session past its own time', { QUEUE_ACTIVE_TTL_SECONDS: '2', HOLD_TTL_SECONDS: '30' }, (ctx) => {
  test('lives on only to pay what it holds: a new hold is 403 on the instance that just saw it ACTIVE, and extends nothing (helper-34)', async () => {
    const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 3 })
    const alice = await shopper(ctx.server, 'own-alice', concertId)
    const first = await hold(ctx.server, alice, scheduleIds[0]!, 1)
    expect(first.status).toBe(201)
    const ownEnd = Date.now() + 2_000
    await Bun.sleep(Math.max(0, ownEnd - Date.now()) + 300)
    // A poll here has this instance trust the session (ACTIVE: the live hold keeps it so) and skip the
    // check before the next hold; holding, cancelling and holding again kept a session alive without end.
    const polled = await call(ctx.server, '/v1/queue/status', alice)
    expect(polled.body.status).toBe('ACTIVE')

    const second = await hold(ctx.server, alice, scheduleIds[0]!, 2)
    expect(second.status).toBe(403)
    expect(second.body.code).toBe('QUEUE_NOT_ACTIVE')
    const [left] = await ctx.db.sql`select count(*)::int as n from reservations where user_id = 'own-alice' and seat_number = 2`
    expect(left!.n).toBe(0)
    const after = await call(ctx.server, '/v1/queue/status', alice)
    expect(after.body).toMatchObject({ status: 'ACTIVE', activeUntil: polled.body.activeUntil })
    // What it holds it can still cancel (and, with a balance, pay).
    expect((await call(ctx.server, `/v1/reservations/${first.body.reservationId}`, { ...alice, method: 'DELETE' })).status).toBe(200)
  })

  test('a hold after its own time is refused by the hold itself (403) where the instance still counts on the time it was told, and extends nothing', async () => {
    const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 3 })
    const alice = await shopper(ctx.server, 'own-carol', concertId) // trusted here, its own time 2 s from now
    // The session's own time is over in the database (as if admitted long ago); the instance does not know.
    await ctx.db.sql`update queue_sessions set admitted_at = now() - interval '1 hour', active_until = now() + interval '1 minute' where user_id = 'own-carol'`
    const [before] = await ctx.db.sql`select active_until from queue_sessions where user_id = 'own-carol'`
    const refused = await hold(ctx.server, alice, scheduleIds[0]!, 1)
    expect([refused.status, refused.body.code]).toEqual([403, 'QUEUE_NOT_ACTIVE'])
    const [after] = await ctx.db.sql`select active_until from queue_sessions where user_id = 'own-carol'`
    expect(after!.active_until).toEqual(before!.active_until)
    const [rows] = await ctx.db.sql`select count(*)::int as n from reservations where user_id = 'own-carol'`
    expect(rows!.n).toBe(0)
  })
})

// On a Redis store the session lives apart from the holds: it is extended once the hold is made
// (room.holdMade), and a hold whose session ended in between is taken back. On the Postgres store the hold
// checks and extends its session in its own statement (sql/functions/hold_seats.sql): nothing can come
// between the two there, and the suites above prove that side.
describeWith(['DATABASE_URL', 'REDIS_URL'], 'holds on a Redis store: the session is extended once the hold is made', () => {
  describe('any session', () => {
    const ctx = onFreshDatabase({ MAX_HOLDS_PER_USER: '2', HOLD_TTL_SECONDS: '300', REDIS_URL: serviceUrl('REDIS_URL')! }) as unknown as SuiteContext

    test('a session that ends between the guard and the hold: 403, and no reservation or held seat is left behind', async () => {
      const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 2, price: 700 })
      const alice = await shopper(ctx.server, 'h-lapsing', concertId)
      const store = ctx.server.store as unknown as Record<string, Function>
      const extend = store.extend!
      // The session runs out right after the guard saw it ACTIVE: the store no longer extends it.
      store.extend = async () => ({ status: 'EXPIRED', position: null, activeUntilMs: null, pace: null })
      try {
        const refused = await hold(ctx.server, alice, scheduleIds[0]!, 1)
        expect([refused.status, refused.body.code]).toEqual([403, 'QUEUE_NOT_ACTIVE'])
      } finally {
        store.extend = extend
      }
      await expectNoTrace(ctx, alice, 'h-lapsing', scheduleIds[0]!, alice)
    })

    test("a hold on its way when an operator ends the session: 403, and nothing of it remains, not even a CANCELLED reservation", async () => {
      const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 2 })
      const alice = await shopper(ctx.server, 'h-end-races-hold', concertId)
      let ended: Awaited<ReturnType<typeof endSession>> | undefined
      // The hold has committed; the end (store, then database) lands before the store is asked to extend.
      const { reply: refused } = await holdWatchingExtend(ctx.server, alice, scheduleIds[0]!, 1, async () => {
        ended = await endSession(ctx.server, concertId, 'h-end-races-hold')
      })
      expect([refused.status, refused.body.code]).toEqual([403, 'QUEUE_NOT_ACTIVE'])
      // The end saw the hold as live and released it; the refused hold then took its trace back.
      expect([ended?.status, ended?.body]).toEqual([200, { ended: true, holdsReleased: 1 }])
      await expectNoTrace(ctx, alice, 'h-end-races-hold', scheduleIds[0]!, await shopper(ctx.server, 'h-end-races-next', concertId))
    })
  })

  describe('a session paid on another instance', () => {
    const env = { MAX_HOLDS_PER_USER: '2', HOLD_TTL_SECONDS: '300', REDIS_URL: serviceUrl('REDIS_URL')! }
    const ctx = onFreshDatabase(env)

    test('this instance stops answering the catalogue for it as soon as it reads it DONE (helper-60: its poll said DONE, its seat map 200 for 6 s)', async () => {
      const other = await testServer({ ...env, DATABASE_URL: ctx.db.url })
      try {
        const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 2, price: 700 })
        const alice = await shopper(ctx.server, 'h-paid-elsewhere', concertId, 700)
        const seats = `/v1/schedules/${scheduleIds[0]!}/seats`
        expect((await call(ctx.server, seats, alice)).status).toBe(200) // this instance now trusts the session
        const held = await hold(ctx.server, alice, scheduleIds[0]!, 1)
        expect((await pay(other, alice, held.body.reservationId)).status).toBe(201)
        expect((await call(ctx.server, '/v1/queue/status', alice)).body.status).toBe('DONE')
        const after = await call(ctx.server, seats, alice)
        expect([after.status, after.body.code]).toEqual([403, 'QUEUE_NOT_ACTIVE'])
      } finally {
        await other.stop()
      }
    })
  })

  // A session this instance confirmed moments ago, and a hold that ends within the session's own time: the
  // session lasts past the hold anyway, so the store is asked while the hold is decided, not after it
  // (room.checkAheadOfHold), and that answer is the live check. What ends the session meanwhile is
  // decided by Postgres under the user's lock.
  describe('a session this instance trusts, and a hold within its own time: the store is asked while the hold is decided', () => {
    const ctx = onFreshDatabase({ MAX_HOLDS_PER_USER: '2', HOLD_TTL_SECONDS: '300', REDIS_URL: serviceUrl('REDIS_URL')! }) as unknown as SuiteContext

    test('the store answers while the hold still waits in Postgres, and that one answer confirms it: 201', async () => {
      const { scheduleId, who, release } = await trustedAndBlocked(ctx, 'ahead-alice')
      const watch = watchExtends(ctx.server)
      try {
        const holding = hold(ctx.server, who, scheduleId, 1)
        expect(await Promise.race([watch.firstAnswer.then(() => 'store answered'), Bun.sleep(3000).then(() => 'no answer')])).toBe('store answered')
        expect(await Promise.race([holding.then(() => 'hold answered'), Bun.sleep(100).then(() => 'hold waiting')])).toBe('hold waiting')
        await release()
        expect((await holding).status).toBe(201)
        expect(watch.answered).toHaveLength(1)
      } finally {
        watch.restore()
        await release()
      }
    })

    test("an operator's end after the store said ACTIVE, while the hold waits in Postgres: the hold committed first, so the end releases it (CANCELLED) and counts it", async () => {
      const { concertId, scheduleId, who, release } = await trustedAndBlocked(ctx, 'ahead-ended')
      const watch = watchExtends(ctx.server)
      try {
        const holding = hold(ctx.server, who, scheduleId, 1)
        await Promise.race([watch.firstAnswer, Bun.sleep(3000)])
        expect(watch.answered[0]).toMatchObject({ status: 'ACTIVE' })
        // The end reaches the store, then waits in Postgres for the user's lock, which the hold has.
        const ending = endSession(ctx.server, concertId, 'ahead-ended')
        await Bun.sleep(300)
        await release()
        const [held, ended] = await Promise.all([holding, ending])
        expect(held.status).toBe(201)
        expect([ended.status, ended.body]).toEqual([200, { ended: true, holdsReleased: 1 }])
        expect((await call(ctx.server, `/v1/reservations/${held.body.reservationId}`, who)).body.status).toBe('CANCELLED')
        const [live] = await ctx.db.sql`select count(*)::int as n from reservations where user_id = 'ahead-ended' and status = 'HELD'`
        expect(live!.n).toBe(0)
        // From the end's answer on, no hold in that session.
        const after = await hold(ctx.server, who, scheduleId, 2)
        expect([after.status, after.body.code]).toEqual([403, 'QUEUE_NOT_ACTIVE'])
      } finally {
        watch.restore()
        await release()
      }
    })

    test('a seat someone holds: 409, and the session is not extended', async () => {
      const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 1 })
      const alice = await shopper(ctx.server, 'ahead-taken-a', concertId)
      const bob = await shopper(ctx.server, 'ahead-taken-b', concertId)
      expect((await hold(ctx.server, bob, scheduleIds[0]!, 1)).status).toBe(201)
      expect((await call(ctx.server, `/v1/schedules/${scheduleIds[0]}/seats`, alice)).status).toBe(200)
      const before = (await call(ctx.server, '/v1/queue/status', alice)).body.activeUntil
      const watch = watchExtends(ctx.server)
      try {
        const lost = await hold(ctx.server, alice, scheduleIds[0]!, 1)
        expect([lost.status, lost.body.code]).toEqual([409, 'SEAT_UNAVAILABLE'])
        expect(watch.answered).toHaveLength(1) // asked ahead, and its answer said why not: nothing else
      } finally {
        watch.restore()
      }
      expect((await call(ctx.server, '/v1/queue/status', alice)).body.activeUntil).toBe(before)
    })

    test('a session the store has ended: 403 whether or not the seat could be held, and no trace', async () => {
      const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 2 })
      const alice = await shopper(ctx.server, 'ahead-gone', concertId)
      const bob = await shopper(ctx.server, 'ahead-gone-b', concertId)
      expect((await hold(ctx.server, bob, scheduleIds[0]!, 2)).status).toBe(201)
      const store = ctx.server.store as unknown as Record<string, Function>
      const extend = store.extend!
      // The store loses the session (a Redis restarted empty) after this instance confirmed it (a seat
      // map read, answered by the store's check, which still says ACTIVE here).
      store.extend = async () => ({ status: 'EXPIRED', position: null, activeUntilMs: null, pace: null })
      try {
        for (const seat of [2, 1]) {
          expect((await call(ctx.server, `/v1/schedules/${scheduleIds[0]}/seats`, alice)).status).toBe(200)
          const refused = await hold(ctx.server, alice, scheduleIds[0]!, seat)
          expect([seat, refused.status, refused.body.code]).toEqual([seat, 403, 'QUEUE_NOT_ACTIVE'])
        }
      } finally {
        store.extend = extend
      }
      const [rows] = await ctx.db.sql`select count(*)::int as n from reservations where user_id = 'ahead-gone'`
      expect(rows!.n).toBe(0)
    })
  })

  describe('a session this instance trusts, and a hold that would outlast its own time', () => {
    const ctx = onFreshDatabase({ QUEUE_ACTIVE_TTL_SECONDS: '200', HOLD_TTL_SECONDS: '300', REDIS_URL: serviceUrl('REDIS_URL')! }) as unknown as SuiteContext

    test('the store is asked only once the hold is made, as the session is extended for it (a refused hold extends nothing)', async () => {
      const { scheduleId, who, release } = await trustedAndBlocked(ctx, 'after-alice')
      const watch = watchExtends(ctx.server)
      try {
        const holding = hold(ctx.server, who, scheduleId, 1)
        await Bun.sleep(300)
        expect(watch.answered).toHaveLength(0)
        await release()
        const held = await holding
        expect(held.status).toBe(201)
        expect(watch.answered).toHaveLength(1)
        // Extended to a second past the hold.
        const status = await call(ctx.server, '/v1/queue/status', who)
        expect(Date.parse(status.body.activeUntil)).toBe(Date.parse(held.body.expiresAt) + 1000)
      } finally {
        watch.restore()
        await release()
      }
    })
  })

  describe('a session past its own time', () => {
    const ctx = onFreshDatabase({ QUEUE_ACTIVE_TTL_SECONDS: '2', HOLD_TTL_SECONDS: '30', REDIS_URL: serviceUrl('REDIS_URL')! }) as unknown as SuiteContext

    test('a hold taken back after its session paid the other one ends the session: DONE, never ACTIVE with nothing held (model-based test)', async () => {
      const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 3, price: 1000 })
      const bob = await shopper(ctx.server, 'own-bob', concertId, 1000)
      const first = await hold(ctx.server, bob, scheduleIds[0]!, 1)
      expect(first.status).toBe(201)
      const ownEnd = Date.now() + 2_000
      // The second hold is made within the session's own time; before the store is asked to extend the
      // session for it, the first hold is paid (the second, live, is still to pay: the session goes on)
      // and the own time passes, so the store does not extend it and the second hold is taken back.
      const { reply: second } = await holdWatchingExtend(ctx.server, bob, scheduleIds[0]!, 2, async () => {
        const paid = await call(ctx.server, '/v1/payments', { ...bob, body: { reservationId: first.body.reservationId } })
        expect(paid.status).toBe(201)
        await Bun.sleep(Math.max(0, ownEnd - Date.now()) + 300)
      })
      expect([second.status, second.body.code]).toEqual([403, 'QUEUE_NOT_ACTIVE'])
      const [live] = await ctx.db.sql`select count(*)::int as n from reservations where user_id = 'own-bob' and status = 'HELD'`
      expect(live!.n).toBe(0)
      // Nothing is left to pay in the session: it is over, its slot goes to the next person.
      expect((await call(ctx.server, '/v1/queue/status', bob)).body.status).toBe('DONE')
    })
  })
})
