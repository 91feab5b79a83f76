import { afterAll, beforeAll, expect, test } from 'bun:test'
import { userTokens } from '../../src/identity/user-tokens'
import { ADMIN_KEY, TEST_SECRET, onEachDatabase } from '../support/app'
import { createTestDatabase, type TestDatabase } from '../support/database'
import { http, startInstances, stopInstances, type Instance } from '../support/instances'
import { createConcert, hold, join, pay, shopper, userToken } from '../support/scenario'
import { describeWith, serviceUrl } from '../support/services'
import { openSse, statusOf, type SseStream } from '../support/sse'

// Pushed status (GET /v1/queue/events): the same QueueStatus as a poll, on every change, ending after
// a terminal status; one store read per tick per watched line however many people watch it.

onEachDatabase('pushed status in one instance', { QUEUE_MAX_ACTIVE: '1', QUEUE_ADMIT_PER_SECOND: '100' }, (ctx) => {
  const watch = (queueToken: string) =>
    openSse((signal) => ctx.server.app.handle(new Request(`http://localhost/v1/queue/events?token=${encodeURIComponent(queueToken)}`, { signal })))
  const streams: SseStream[] = []
  afterAll(() => streams.forEach((s) => s.close()))

  test('the first event is the status a poll gives; a change is pushed; DONE ends the stream', async () => {
    const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 5, price: 10 })
    const first = await shopper(ctx.server, 'push-first', concertId, 100)
    const second = { token: await userToken(ctx.server, 'push-second'), queueToken: '' }
    second.queueToken = (await join(ctx.server, second.token, concertId)).token
    // The wait estimate follows the measured pace (admissions / seconds since the first one), which
    // changes at every second boundary; a change there is a real change and is pushed. So the
    // "nothing changed" step below starts early in a second and runs well inside it.
    const intoSecond = Date.now() % 1000
    if (intoSecond > 400) await Bun.sleep(1000 - intoSecond + 5)
    const stream = await watch(second.queueToken)
    streams.push(stream)
    expect(stream.status).toBe(200)
    expect(stream.headers.get('content-type')).toStartWith('text/event-stream')
    expect(stream.headers.get('cache-control')).toBe('no-store')
    const opening = statusOf(await stream.next())
    expect(opening).toMatchObject({ concertId, status: 'WAITING', position: 1, activeUntil: null })
    expect(Object.keys(opening).sort()).toEqual(['activeUntil', 'concertId', 'estimatedWaitSeconds', 'opensAt', 'pollAfterMs', 'position', 'status'])

    // Nothing changed: a tick sends nothing.
    await ctx.server.room.push.tick()
    expect(stream.events.length).toBe(1)

    // The first user pays; the slot goes to the second at the next admission tick.
    const held = await hold(ctx.server, first, scheduleIds[0]!, 1)
    expect((await pay(ctx.server, first, held.body.reservationId)).status).toBe(201)
    await ctx.server.admission.tick()
    await ctx.server.room.push.tick()
    const active = statusOf(await stream.next((e) => statusOf(e).status === 'ACTIVE', 5000))
    expect(active.activeUntil).toEqual(expect.any(String))

    // ACTIVE -> DONE by paying: the last event, then the stream ends.
    const secondShopper = { ...second }
    await ctx.server.app.handle(new Request('http://localhost/v1/balance/charges', {
      method: 'POST',
      headers: { authorization: `Bearer ${second.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ amount: 100 }),
    }))
    const held2 = await hold(ctx.server, secondShopper, scheduleIds[0]!, 2)
    expect((await pay(ctx.server, secondShopper, held2.body.reservationId)).status).toBe(201)
    await ctx.server.room.push.tick()
    const doneEvent = await stream.next((e) => statusOf(e).status === 'DONE', 5000)
    expect(statusOf(doneEvent).status).toBe('DONE')
    await stream.ended
    expect(ctx.server.room.push.openStreams).toBe(0)

    // EventSource reconnects after an end and sends the last id it had: the end's id is answered 204,
    // which stops it (helper-60: it reconnected every 2 s, spending the user's budget each time).
    expect([stream.events.slice(0, -1).every((e) => /^\d+$/.test(e.id ?? '')), doneEvent.id]).toEqual([true, 'end'])
    const events = (queueToken: string, lastEventId: string) =>
      ctx.server.app.handle(new Request(`http://localhost/v1/queue/events?token=${encodeURIComponent(queueToken)}`, { headers: { 'last-event-id': lastEventId } }))
    const stopped = await events(second.queueToken, 'end')
    expect([stopped.status, await stopped.text(), stopped.headers.get('x-request-id') !== null]).toEqual([204, '', true])
    // One that missed the end (another id) is told it again; a forged token is a 401 whatever its id.
    const missed = await openSse((signal) => ctx.server.app.handle(new Request(`http://localhost/v1/queue/events?token=${encodeURIComponent(second.queueToken)}`, { signal, headers: { 'last-event-id': '2' } })))
    expect(statusOf(await missed.next()).status).toBe('DONE')
    await missed.ended
    expect((await events('forged.token', 'end')).status).toBe(401)
  })

  test('one store read per tick per line, however many streams watch it; tabs of one person share it', async () => {
    const { concertId } = await createConcert(ctx.server)
    const store = ctx.server.store
    const original = store.pollMany
    const reads: number[] = []
    store.pollMany = async (line, tickets, limits) => {
      reads.push(tickets.length)
      return original.call(store, line, tickets, limits)
    }
    try {
      const opened: SseStream[] = []
      for (let i = 0; i < 30; i++) {
        const token = await userToken(ctx.server, `push-many-${i}`)
        const { token: queueToken } = await join(ctx.server, token, concertId)
        opened.push(await watch(queueToken), await watch(queueToken)) // two tabs each
      }
      streams.push(...opened)
      await Promise.all(opened.map((s) => s.next()))
      reads.length = 0
      for (let i = 0; i < 3; i++) await ctx.server.room.push.tick()
      // Other suites' lines may be watched too; this line's reads are the ones with 30 places.
      expect(reads.filter((n) => n === 30).length).toBe(3)
      expect(reads.every((n) => n === 30 || n < 30)).toBe(true)
      opened.forEach((s) => s.close())
    } finally {
      store.pollMany = original
    }
  })

  test('one place holds at most four streams on an instance: a fifth ends the oldest', async () => {
    const { concertId } = await createConcert(ctx.server)
    const { token: queueToken } = await join(ctx.server, await userToken(ctx.server, 'push-tabs'), concertId)
    const tabs: SseStream[] = []
    for (let i = 0; i < 5; i++) {
      tabs.push(await watch(queueToken))
      await tabs.at(-1)!.next()
    }
    streams.push(...tabs)
    await tabs[0]!.ended
    await ctx.server.room.push.tick()
    expect(tabs.slice(1).every((t) => t.events.length === 1)).toBe(true)
    tabs.forEach((t) => t.close())
  })

  test('no token, a forged token and a tampered token are 401 problems; no stream opens', async () => {
    const { concertId } = await createConcert(ctx.server)
    const { token: queueToken } = await join(ctx.server, await userToken(ctx.server, 'push-forger'), concertId)
    const tampered = queueToken.slice(0, -2) + (queueToken.endsWith('AA') ? 'BB' : 'AA')
    for (const path of ['/v1/queue/events', '/v1/queue/events?token=forged.token', `/v1/queue/events?token=${encodeURIComponent(tampered)}`]) {
      const reply = await ctx.server.app.handle(new Request(`http://localhost${path}`))
      expect(reply.status).toBe(401)
      expect(reply.headers.get('content-type')).toStartWith('application/problem+json')
      const problem = await reply.json()
      expect(problem.code).toBe('QUEUE_TOKEN_INVALID')
      // It names where this route reads the token (helper-33: it named only the header, which this route ignores).
      expect(problem.detail).toContain('token query parameter')
    }
  })
})

describeWith(['DATABASE_URL', 'REDIS_URL'], 'pushed status over two real instances (Redis store)', () => {
  let db: TestDatabase
  let instances: Instance[] = []
  beforeAll(async () => {
    db = await createTestDatabase(serviceUrl('DATABASE_URL')!)
    instances = await startInstances(2, {
      DATABASE_URL: db.url,
      DATABASE_POOL_SIZE: '4',
      REDIS_URL: serviceUrl('REDIS_URL')!,
      QUEUE_MAX_ACTIVE: '1',
      QUEUE_WAITING_IDLE_SECONDS: '3',
      QUEUE_TICK_MS: '1000',
    })
  }, 60_000)
  afterAll(async () => {
    await stopInstances(instances)
    await db?.drop()
  })

  test('admission reaches a stream on the other instance within a tick; watching keeps a place; the token is never logged', async () => {
    const [a, b] = instances as [Instance, Instance]
    const created = await http(a.url, '/v1/admin/concerts', {
      headers: { 'x-admin-key': ADMIN_KEY },
      body: { title: 'Pushed', schedules: [{ startsAt: '2027-06-01T19:00:00Z', seatCount: 5, price: 10 }] },
    })
    const concertId = created.body.concertId as string
    const issuer = userTokens(TEST_SECRET)
    const joinAt = async (base: string, userId: string) => {
      const token = await issuer.issue(userId)
      const joined = await http(base, '/v1/queue/tokens', { token, body: { concertId } })
      return { token, queueToken: joined.body.token as string }
    }
    await joinAt(a.url, 'push-front')
    const watcher = await joinAt(a.url, 'push-watcher')
    const idler = await joinAt(a.url, 'push-idler')
    const stream = await openSse(`${b.url}/v1/queue/events?token=${encodeURIComponent(watcher.queueToken)}`)
    expect(stream.status).toBe(200)
    expect(statusOf(await stream.next()).status).toMatch(/WAITING|ACTIVE/)

    // The front user takes the only slot; the watcher only watches, the idler does nothing, for longer
    // than the idle limit (3 s): the watcher keeps the place, the idler loses it.
    await Bun.sleep(4500)
    const idle = await http(a.url, '/v1/queue/status', { token: idler.token, queueToken: idler.queueToken })
    expect(idle.body.status).toBe('EXPIRED')
    const watched = await http(a.url, '/v1/queue/status', { token: watcher.token, queueToken: watcher.queueToken })
    expect(watched.body).toMatchObject({ status: 'WAITING', position: 1 })

    // The front user leaves (an operator ends the session): the watcher is admitted at the next tick
    // and hears it within a tick plus a little.
    const ended = await http(a.url, `/v1/admin/concerts/${concertId}/queue/sessions/push-front`, { method: 'DELETE', headers: { 'x-admin-key': ADMIN_KEY } })
    expect(ended.status).toBe(200)
    const endedAt = performance.now()
    const active = await stream.next((e) => statusOf(e).status === 'ACTIVE', 5000)
    // One admission tick (up to 1 s away) plus one push tick (up to 1 s) plus slack.
    expect(active.at - endedAt).toBeLessThan(2600)

    // An operator ends the active session: EXPIRED is pushed and the stream ends.
    await http(a.url, `/v1/admin/concerts/${concertId}/queue/sessions/push-watcher`, { method: 'DELETE', headers: { 'x-admin-key': ADMIN_KEY } })
    await stream.next((e) => statusOf(e).status === 'EXPIRED', 5000)
    await stream.ended

    // The token went in a query string: no log line of either instance carries it.
    const logged = JSON.stringify([...a.logs, ...b.logs])
    expect(logged).not.toContain(watcher.queueToken.split('.')[1]!)
    expect(logged).toContain('/v1/queue/events')
  }, 30_000)
})
