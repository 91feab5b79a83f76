import { expect, setSystemTime, test } from 'bun:test'
import { ServiceError } from '../../src/errors'
import type { WaitingRoomStore } from '../../src/waiting-room/store'
import { call, onEachDatabase } from '../support/app'
import { admit, createConcert, hold, join, pay, shopper, userToken } from '../support/scenario'

onEachDatabase('the waiting room over HTTP', { QUEUE_MAX_ACTIVE: '2', QUEUE_ADMIT_PER_SECOND: '100' }, (ctx) => {

  test('joining answers 201 with a place and a token; joining again 200 with the same token and place', async () => {
    const { concertId } = await createConcert(ctx.server)
    const token = await userToken(ctx.server, 'q-alice')
    const first = await call(ctx.server, '/v1/queue/tokens', { token, body: { concertId } })
    expect(first.status).toBe(201)
    expect(first.body).toEqual({
      concertId,
      status: 'WAITING',
      position: 1,
      estimatedWaitSeconds: expect.any(Number),
      activeUntil: null,
      pollAfterMs: expect.any(Number),
      opensAt: null,
      token: expect.any(String),
    })
    const again = await call(ctx.server, '/v1/queue/tokens', { token, body: { concertId } })
    expect(again.status).toBe(200)
    expect(again.body.token).toBe(first.body.token)
    expect(again.body.position).toBe(1)
  })

  test('positions follow join order, and an unknown concert is 404', async () => {
    const { concertId } = await createConcert(ctx.server)
    const positions = []
    for (const name of ['q-1', 'q-2', 'q-3']) positions.push((await join(ctx.server, await userToken(ctx.server, name), concertId)).position)
    expect(positions).toEqual([1, 2, 3])
    const missing = await call(ctx.server, '/v1/queue/tokens', { token: await userToken(ctx.server, 'q-x'), body: { concertId: crypto.randomUUID() } })
    expect(missing.status).toBe(404)
  })

  test('forged, tampered and other users\' queue tokens are 401; a missing one too', async () => {
    const { concertId } = await createConcert(ctx.server)
    const alice = await userToken(ctx.server, 'q-owner')
    const bob = await userToken(ctx.server, 'q-thief')
    const { token: queueToken } = await join(ctx.server, alice, concertId)
    const tampered = queueToken.slice(0, -3) + (queueToken.endsWith('AAA') ? 'BBB' : 'AAA')
    for (const [user, qt] of [[bob, queueToken], [alice, tampered], [alice, 'forged.token'], [alice, undefined]] as const) {
      const reply = await call(ctx.server, '/v1/queue/status', { token: user, queueToken: qt })
      expect(reply.status).toBe(401)
      expect(reply.body.code).toBe('QUEUE_TOKEN_INVALID')
    }
  })

  test('catalogue reads need an ACTIVE token of that concert: WAITING and other concerts are 403', async () => {
    const a = await createConcert(ctx.server)
    const b = await createConcert(ctx.server)
    const alice = await userToken(ctx.server, 'q-browse')
    const waiting = await join(ctx.server, alice, a.concertId)
    const early = await call(ctx.server, `/v1/concerts/${a.concertId}/schedules`, { token: alice, queueToken: waiting.token })
    expect(early.status).toBe(403)
    expect(early.body.code).toBe('QUEUE_NOT_ACTIVE')
    const inB = await admit(ctx.server, alice, b.concertId)
    const crossed = await call(ctx.server, `/v1/schedules/${a.scheduleIds[0]}/seats`, { token: alice, queueToken: inB })
    expect(crossed.status).toBe(403)
    expect((await call(ctx.server, `/v1/schedules/${b.scheduleIds[0]}/seats`, { token: alice, queueToken: inB })).status).toBe(200)
  })

  test('capacity: at most QUEUE_MAX_ACTIVE active; a payment frees the slot for the next at the next tick', async () => {
    const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 5, price: 10 })
    const users: { token: string; queueToken: string }[] = []
    for (const name of ['c-1', 'c-2', 'c-3']) {
      const token = await userToken(ctx.server, name)
      await call(ctx.server, '/v1/balance/charges', { token, body: { amount: 100 } })
      users.push({ token, queueToken: (await join(ctx.server, token, concertId)).token })
    }
    await ctx.server.admission.tick()
    const states = async () => Promise.all(users.map(async (u) => (await call(ctx.server, '/v1/queue/status', u)).body))
    expect((await states()).map((s) => s.status)).toEqual(['ACTIVE', 'ACTIVE', 'WAITING'])
    expect((await states())[2].position).toBe(1)
    await ctx.server.admission.tick()
    expect((await states())[2].status).toBe('WAITING')

    const held = await hold(ctx.server, users[0]!, scheduleIds[0]!, 1)
    expect((await pay(ctx.server, users[0]!, held.body.reservationId)).status).toBe(201)
    expect((await states()).map((s) => s.status)).toEqual(['DONE', 'ACTIVE', 'WAITING'])
    await ctx.server.admission.tick()
    expect((await states()).map((s) => s.status)).toEqual(['DONE', 'ACTIVE', 'ACTIVE'])
  })

  test('after DONE, joining again gives a fresh place at the back with a new token', async () => {
    const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 2, price: 10 })
    const alice = await shopper(ctx.server, 'q-again', concertId, 100)
    const held = await hold(ctx.server, alice, scheduleIds[0]!, 1)
    await pay(ctx.server, alice, held.body.reservationId)
    const waiter = await join(ctx.server, await userToken(ctx.server, 'q-waiter'), concertId)
    expect(waiter.status).toBe('WAITING')
    const rejoined = await call(ctx.server, '/v1/queue/tokens', { token: alice.token, body: { concertId } })
    expect(rejoined.status).toBe(201)
    expect(rejoined.body.token).not.toBe(alice.queueToken)
    expect(rejoined.body).toMatchObject({ status: 'WAITING', position: 2 })
    expect((await call(ctx.server, '/v1/queue/status', alice)).body.status).toBe('DONE')
  })

  test('SOLD_OUT: the last sale tells waiting users at once, and joining is refused', async () => {
    const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 1, price: 10 })
    const buyer = await shopper(ctx.server, 'so-buyer', concertId, 100)
    const waiter = await userToken(ctx.server, 'so-waiter')
    const place = await join(ctx.server, waiter, concertId)
    const held = await hold(ctx.server, buyer, scheduleIds[0]!, 1)
    await pay(ctx.server, buyer, held.body.reservationId)
    await Bun.sleep(100) // the sold-out check runs right after the payment answers
    const status = await call(ctx.server, '/v1/queue/status', { token: waiter, queueToken: place.token })
    expect(status.body).toMatchObject({ status: 'SOLD_OUT', position: null, estimatedWaitSeconds: null })
    const late = await call(ctx.server, '/v1/queue/tokens', { token: await userToken(ctx.server, 'so-late'), body: { concertId } })
    expect(late.status).toBe(409)
    expect(late.body.code).toBe('SOLD_OUT')
  })

  test('a live hold keeps a concert from being sold out; the tick marks it once the seat is sold', async () => {
    const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 1, price: 10 })
    const buyer = await shopper(ctx.server, 'so2-buyer', concertId, 100)
    await hold(ctx.server, buyer, scheduleIds[0]!, 1)
    const waiter = await userToken(ctx.server, 'so2-waiter')
    const place = await join(ctx.server, waiter, concertId)
    await ctx.server.admission.tick()
    expect((await call(ctx.server, '/v1/queue/status', { token: waiter, queueToken: place.token })).body.status).not.toBe('SOLD_OUT')
    await ctx.db.sql`update seats set status = 'SOLD', hold_expires_at = null where schedule_id = ${scheduleIds[0]!}`
    await ctx.server.admission.tick()
    expect((await call(ctx.server, '/v1/queue/status', { token: waiter, queueToken: place.token })).body.status).toBe('SOLD_OUT')
  })

  test('a poll costs one store call; an ACTIVE user\'s catalogue reads cost none after the first; a hold one (none on the Postgres store), or one more for a session the instance has not seen ACTIVE', async () => {
    const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 3 })
    const alice = await shopper(ctx.server, 'rt-alice', concertId)
    const store = ctx.server.store as WaitingRoomStore & Record<string, unknown>
    const calls: string[] = []
    const originals = new Map<string, Function>()
    for (const name of ['join', 'poll', 'check', 'extend', 'finish', 'admit', 'setSoldOut', 'lines', 'ping'] as const) {
      const original = store[name] as Function
      originals.set(name, original)
      store[name] = (...args: unknown[]) => {
        calls.push(name)
        return original.apply(store, args)
      }
    }
    try {
      await call(ctx.server, '/v1/queue/status', alice)
      expect(calls).toEqual(['poll'])
      calls.length = 0
      for (let i = 0; i < 5; i++) {
        expect((await call(ctx.server, `/v1/concerts/${concertId}/schedules`, alice)).status).toBe(200)
        expect((await call(ctx.server, `/v1/schedules/${scheduleIds[0]}/seats`, alice)).status).toBe(200)
      }
      expect(calls).toEqual([]) // the poll above already confirmed ACTIVE on this instance
      expect((await hold(ctx.server, alice, scheduleIds[0]!, 1)).status).toBe(201)
      // A Redis store is asked once for the hold: a session this instance confirmed moments ago is not asked
      // before it as well (for a hold within the session's own time it is asked while the hold is decided:
      // test/holds/holds.test.ts). The Postgres store is not asked at
      // all: its sessions are rows of the booking database, and the hold checks and extends its session in
      // its own statement (sql/functions/hold_seats.sql).
      const extendAfter = store.kind === 'postgres' ? [] : ['extend']
      expect(calls).toEqual(extendAfter)
      // Not for longer than the catalogue reads' 30 s of trust: a session an operator ended on another
      // instance would write a hold, refuse another user the seat meanwhile, and only then be undone.
      setSystemTime(new Date(Date.now() + 31_000))
      try {
        calls.length = 0
        expect((await hold(ctx.server, alice, scheduleIds[0]!, 3)).status).toBe(201)
        expect(calls).toEqual(['check', ...extendAfter])
      } finally {
        setSystemTime()
      }
      calls.length = 0
      // A session this instance has not seen ACTIVE is asked first: nobody unadmitted writes a hold.
      const bob = await userToken(ctx.server, 'rt-bob')
      const bobs = await join(ctx.server, bob, concertId)
      await ctx.server.admission.tick()
      calls.length = 0
      expect((await hold(ctx.server, { token: bob, queueToken: bobs.token }, scheduleIds[0]!, 2)).status).toBe(201)
      expect(calls).toEqual(['check', ...extendAfter])
    } finally {
      for (const [name, original] of originals) store[name] = original
    }
  })

  test('a payment whose end of the session the store did not hear is told again until it hears: DONE, not ACTIVE with nothing held (helper-51)', async () => {
    const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 2 })
    const buyer = await shopper(ctx.server, 'unheard-buyer', concertId, 100_000)
    const held = await hold(ctx.server, buyer, scheduleIds[0]!, 1)
    const store = ctx.server.store
    const finish = store.finish
    let refused = 0
    store.finish = async (ticket) => {
      if (refused < 2) {
        refused++
        throw new ServiceError('SERVICE_UNAVAILABLE', 'the store is down (test)', { retryAfterSeconds: 2 })
      }
      return finish.call(store, ticket)
    }
    try {
      expect((await pay(ctx.server, buyer, held.body.reservationId)).status).toBe(201)
      expect((await call(ctx.server, '/v1/queue/status', buyer)).body.status).toBe('ACTIVE')
      const deadline = Date.now() + 4000
      let status = 'ACTIVE'
      while (status === 'ACTIVE' && Date.now() < deadline) {
        await Bun.sleep(200)
        status = (await call(ctx.server, '/v1/queue/status', buyer)).body.status
      }
      expect([status, refused]).toEqual(['DONE', 2])
    } finally {
      store.finish = finish
    }
  })

  test('a session that ended behind the instance\'s back (DONE or ended by an operator) makes no hold: 403 before anything about the seat, and the seat stays free', async () => {
    const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 3 })
    const done = await shopper(ctx.server, 'eb-done', concertId)
    const ended = await shopper(ctx.server, 'eb-ended', concertId)
    const kept = await hold(ctx.server, done, scheduleIds[0]!, 3)
    expect(kept.status).toBe(201)
    // Both sessions were confirmed ACTIVE by this instance (their polls); another instance ends them.
    await ctx.server.store.finish(ctx.server.room.ticket(done.userId, done.queueToken))
    expect(await ctx.server.store.endSession(concertId, ended.userId)).not.toBeNull()
    for (const user of [done, ended]) {
      for (const seat of [1, 3]) {
        const refused = await hold(ctx.server, user, scheduleIds[0]!, seat) // seat 3 is held: still 403 first
        expect([refused.status, refused.body.code]).toEqual([403, 'QUEUE_NOT_ACTIVE'])
      }
    }
    const reservations = await ctx.db.sql`select reservation_id from reservations where user_id in ('eb-done', 'eb-ended')`
    expect(reservations.map((r) => r.reservation_id)).toEqual([kept.body.reservationId])
    const [seat1] = await ctx.db.sql`select status from seats where schedule_id = ${scheduleIds[0]!} and seat_number = 1`
    expect(seat1!.status).toBe('AVAILABLE')
  })
})
