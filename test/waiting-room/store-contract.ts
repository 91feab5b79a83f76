import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { LineLimits, SessionView, Ticket, WaitingRoomStore } from '../../src/waiting-room/store'

// The contract every waiting-room store keeps (src/waiting-room/store.ts). The Postgres store, Redis
// over TCP and Redis over the Upstash REST API all run these same tests and must all pass them.
//
// Every test makes its own concerts, so the tests run concurrently: the suite takes about as long as
// its slowest test (a couple of seconds of real sleeps for idle and expiry limits of one second).

export interface StoreUnderTest {
  store: WaitingRoomStore
  /** A concert the store may open a line for (the Postgres store needs the row). */
  newConcert(): Promise<string>
  close(): Promise<void>
}

const IDLE_SECONDS = 1
/** Comfortably past a one-second idle or activity limit, and comfortably inside one when halved. */
const PAST_LIMIT_MS = 1300
const HALF_LIMIT_MS = 600

const limits = (overrides: Partial<LineLimits> = {}): LineLimits => ({
  maxActive: 100,
  admitPerSecond: 100,
  activeTtlSeconds: 60,
  waitingIdleSeconds: 60,
  ...overrides,
})

const sleep = (ms: number) => Bun.sleep(ms)

/** Waits until just after the start of a wall-clock second, so a few quick calls share one second. */
async function startOfSecond() {
  await sleep(1000 - (Date.now() % 1000) + 20)
}

/** How many distinct epoch seconds the interval [from, to] touches. */
const secondsSpanned = (from: number, to: number) => Math.floor(to / 1000) - Math.floor(from / 1000) + 1

export function storeContract(open: () => Promise<StoreUnderTest>) {
  let sut: StoreUnderTest
  let store: WaitingRoomStore
  // Opening may start services (a Redis Cluster takes a few seconds on a busy machine).
  beforeAll(async () => {
    sut = await open()
    store = sut.store
  }, 60_000)
  afterAll(async () => {
    await sut?.close()
  })

  /** Joins users in order (one after another, so the order is defined) and returns their tickets. */
  async function joinAll(concertId: string, users: string[], l = limits()): Promise<Ticket[]> {
    const tickets: Ticket[] = []
    for (const userId of users) {
      const joined = await store.join(concertId, userId, l)
      if (joined === 'SOLD_OUT') throw new Error('unexpected SOLD_OUT')
      tickets.push({ concertId, userId, seq: joined.seq })
    }
    return tickets
  }

  async function join(concertId: string, userId: string, l = limits()) {
    const joined = await store.join(concertId, userId, l)
    if (joined === 'SOLD_OUT') throw new Error('unexpected SOLD_OUT')
    return joined
  }

  const statuses = (views: SessionView[]) => views.map((v) => v.status)
  const pollAll = (tickets: Ticket[], l = limits()) => Promise.all(tickets.map((t) => store.poll(t, l)))

  describe.concurrent('joining and positions', () => {
    test('the first to join is next in line, and each later joiner is one place further back', async () => {
      const concertId = await sut.newConcert()
      const a = await join(concertId, 'a')
      const b = await join(concertId, 'b')
      const c = await join(concertId, 'c')

      expect([a.created, b.created, c.created]).toEqual([true, true, true])
      expect(b.seq).toBeGreaterThan(a.seq)
      expect(c.seq).toBeGreaterThan(b.seq)
      expect([a.view, b.view, c.view].map((v) => v.position)).toEqual([1, 2, 3])
      expect(c.view).toMatchObject({ status: 'WAITING', activeUntilMs: null, pace: null })
    })

    test('joining again returns the same seq and place, not a new one', async () => {
      const concertId = await sut.newConcert()
      const first = await join(concertId, 'a')
      await join(concertId, 'b')

      const again = await join(concertId, 'a')

      expect(again).toMatchObject({ seq: first.seq, created: false, view: { status: 'WAITING', position: 1 } })
    })

    test('joins at once: one place each, positions 1..n in seq order, and a user joining twice at once gets one place', async () => {
      const concertId = await sut.newConcert()
      const users = Array.from({ length: 60 }, (_, i) => `u${i}`)

      const joined = await Promise.all([...users, 'u7', 'u7'].map((u) => join(concertId, u)))

      const places = joined.slice(0, 60)
      expect(new Set(places.map((j) => j.seq)).size).toBe(60)
      const bySeq = [...places].sort((x, y) => x.seq - y.seq)
      expect(bySeq.map((j) => j.view.position)).toEqual(users.map((_, i) => i + 1))
      const sevens = [joined[7]!, joined[60]!, joined[61]!]
      expect(new Set(sevens.map((j) => j.seq)).size).toBe(1)
      expect(sevens.filter((j) => j.created)).toHaveLength(1)
      expect(new Set(sevens.map((j) => j.view.position)).size).toBe(1)
    })

    test('polls at once: each caller reads its own place', async () => {
      const concertId = await sut.newConcert()
      const tickets = await joinAll(concertId, Array.from({ length: 40 }, (_, i) => `u${i}`))
      const stranger = { concertId, userId: 'nobody', seq: tickets[0]!.seq + 1000 }
      const asked = [...tickets].reverse().concat(stranger, tickets[3]!)

      const views = await pollAll(asked)

      expect(views.slice(0, 40).map((v) => v.position)).toEqual(tickets.map((_, i) => 40 - i))
      expect(views[40]!.status).toBe('EXPIRED')
      expect(views[41]).toMatchObject({ status: 'WAITING', position: 4 })
    })

    test('a poll reports the exact position, which moves up as the front is admitted', async () => {
      const concertId = await sut.newConcert()
      const [a, b, c] = await joinAll(concertId, ['a', 'b', 'c'])
      expect((await pollAll([a!, b!, c!])).map((v) => v.position)).toEqual([1, 2, 3])

      const step = await store.admit(concertId, limits({ admitPerSecond: 1 }))

      expect(step).toMatchObject({ admitted: 1, waiting: 2, active: 1 })
      const [va, vb, vc] = await pollAll([a!, b!, c!])
      expect(va).toMatchObject({ status: 'ACTIVE', position: null })
      expect(va!.activeUntilMs!).toBeGreaterThan(Date.now())
      expect(vb).toMatchObject({ status: 'WAITING', position: 1, activeUntilMs: null })
      expect(vc).toMatchObject({ status: 'WAITING', position: 2 })
    })

    test('pollMany answers as poll does for each place, in the order asked, in one call', async () => {
      const concertId = await sut.newConcert()
      const [a, b, c] = await joinAll(concertId, ['a', 'b', 'c'])
      await store.admit(concertId, limits({ admitPerSecond: 1 }))
      const stranger = { concertId, userId: 'nobody', seq: c!.seq + 1000 }

      const many = await store.pollMany(concertId, [c!, stranger, a!, b!], limits())

      expect(statuses(many)).toEqual(['WAITING', 'EXPIRED', 'ACTIVE', 'WAITING'])
      expect(many.map((v) => v.position)).toEqual([2, null, null, 1])
      expect(many[2]!.activeUntilMs).toBe((await store.check(a!, limits())).activeUntilMs)
      expect(await store.pollMany(concertId, [], limits())).toEqual([])
    })

    test('how fast places come free is unknown before an admission step and measured by each step after', async () => {
      const concertId = await sut.newConcert()
      const [, b] = await joinAll(concertId, ['a', 'b'])
      expect((await store.poll(b!, limits())).pace).toBeNull()

      await store.admit(concertId, limits({ admitPerSecond: 1 }))

      // One live session after the step, none ended.
      expect((await store.poll(b!, limits())).pace).toEqual({ active: 1, endedPerSecond: 0, liveAverage: 1 })
    })

    test('the sessions that ended are the admissions less the growth of the live count, per second', async () => {
      const concertId = await sut.newConcert()
      const [a, , , d] = await joinAll(concertId, ['a', 'b', 'c', 'd'])
      const full = limits({ maxActive: 2, admitPerSecond: 100 })
      expect(await store.admit(concertId, full)).toMatchObject({ admitted: 2 })
      // A step that admits nobody is measured too: the line is full.
      expect(await store.admit(concertId, full)).toMatchObject({ admitted: 0 })
      expect((await store.poll(d!, full)).pace).toEqual({ active: 2, endedPerSecond: 0, liveAverage: 2 })

      await store.finish(a!)
      const start = Date.now()
      expect(await store.admit(concertId, full)).toMatchObject({ admitted: 1 })

      // Three admitted, two live: one ended, over the one or two seconds the steps span (all three steps,
      // or some, in one second: the live count before that second's first step is the one kept).
      const { pace } = await store.poll(d!, full)
      expect(pace?.active).toBe(2)
      expect(pace?.liveAverage).toBe(2)
      expect([1, 0.5]).toContain(pace!.endedPerSecond)
      expect(Date.now() - start).toBeLessThan(1000)
    })

    test('a ticket that names no session of this user reads EXPIRED', async () => {
      const concertId = await sut.newConcert()
      const [a] = await joinAll(concertId, ['a'])

      expect((await store.poll({ ...a!, seq: a!.seq + 1000 }, limits())).status).toBe('EXPIRED')
      expect((await store.poll({ ...a!, userId: 'mallory' }, limits())).status).toBe('EXPIRED')
      expect((await store.check({ ...a!, concertId: await sut.newConcert() }, limits())).status).toBe('EXPIRED')
      expect((await store.poll(a!, limits())).status).toBe('WAITING')
    })
  })

  describe.concurrent('heartbeats and idle waiters', () => {
    const idle = limits({ waitingIdleSeconds: IDLE_SECONDS })

    test('polling keeps a waiting place beyond the idle limit', async () => {
      const concertId = await sut.newConcert()
      const [a] = await joinAll(concertId, ['a'], idle)

      for (let i = 0; i < 3; i++) {
        await sleep(HALF_LIMIT_MS)
        expect((await store.poll(a!, idle)).status).toBe('WAITING')
      }
    })

    test('pollMany is a heartbeat too: a waiter who is only watched keeps the place', async () => {
      const concertId = await sut.newConcert()
      const [a, b] = await joinAll(concertId, ['a', 'b'], idle)

      for (let i = 0; i < 3; i++) {
        await sleep(HALF_LIMIT_MS)
        expect(statuses(await store.pollMany(concertId, [a!], idle))).toEqual(['WAITING'])
      }
      expect((await store.check(b!, idle)).status).toBe('EXPIRED')
    })

    test('a waiter who stops polling is EXPIRED at once, before any admission step runs', async () => {
      const concertId = await sut.newConcert()
      const [a] = await joinAll(concertId, ['a'], idle)

      await sleep(PAST_LIMIT_MS)

      expect(await store.check(a!, idle)).toMatchObject({ status: 'EXPIRED', position: null })
      expect(await store.poll(a!, idle)).toMatchObject({ status: 'EXPIRED', position: null })
    })

    test('check has no heartbeat side effect: a waiter who is only checked still goes idle', async () => {
      const concertId = await sut.newConcert()
      const [a] = await joinAll(concertId, ['a'], idle)

      await sleep(HALF_LIMIT_MS)
      expect((await store.check(a!, idle)).status).toBe('WAITING')
      await sleep(HALF_LIMIT_MS)

      expect((await store.check(a!, idle)).status).toBe('EXPIRED')
    })

    test('an idle waiter is not counted in the positions of those behind, even before admission runs', async () => {
      const concertId = await sut.newConcert()
      const [, b, c] = await joinAll(concertId, ['a', 'b', 'c'], idle)
      await sleep(HALF_LIMIT_MS)
      await pollAll([b!, c!], idle)
      await sleep(PAST_LIMIT_MS - HALF_LIMIT_MS)

      expect(await store.poll(b!, idle)).toMatchObject({ status: 'WAITING', position: 1 })
      expect(await store.check(c!, idle)).toMatchObject({ status: 'WAITING', position: 2 })
    })

    test('an idle waiter does not stall admission: the next live waiter is admitted', async () => {
      const concertId = await sut.newConcert()
      const l = limits({ waitingIdleSeconds: IDLE_SECONDS, admitPerSecond: 1 })
      const [a, b, c] = await joinAll(concertId, ['a', 'b', 'c'], l)
      await sleep(HALF_LIMIT_MS)
      await pollAll([b!, c!], l)
      await sleep(PAST_LIMIT_MS - HALF_LIMIT_MS)

      const step = await store.admit(concertId, l)

      expect(step).toMatchObject({ admitted: 1, waiting: 1, active: 1 })
      expect(statuses(await pollAll([a!, b!, c!], l))).toEqual(['EXPIRED', 'ACTIVE', 'WAITING'])
      expect((await store.poll(c!, l)).position).toBe(1)
    })

    test('an admission step drops every waiter who stopped polling', async () => {
      const concertId = await sut.newConcert()
      await joinAll(concertId, ['a', 'b'], idle)
      await sleep(PAST_LIMIT_MS)

      const step = await store.admit(concertId, idle)

      expect(step).toEqual({ admitted: 0, expired: 2, waiting: 0, active: 0 })
    })
  })

  describe.concurrent('admission', () => {
    test('admits in join order', async () => {
      const concertId = await sut.newConcert()
      const tickets = await joinAll(concertId, ['u1', 'u2', 'u3', 'u4', 'u5'])

      const step = await store.admit(concertId, limits({ admitPerSecond: 2 }))

      expect(step).toMatchObject({ admitted: 2, expired: 0, waiting: 3, active: 2 })
      const views = await pollAll(tickets)
      expect(statuses(views)).toEqual(['ACTIVE', 'ACTIVE', 'WAITING', 'WAITING', 'WAITING'])
      expect(views.map((v) => v.position)).toEqual([null, null, 1, 2, 3])
    })

    test('never admits beyond maxActive live sessions', async () => {
      const concertId = await sut.newConcert()
      const l = limits({ maxActive: 2 })
      const tickets = await joinAll(concertId, ['u1', 'u2', 'u3', 'u4', 'u5'])

      expect(await store.admit(concertId, l)).toMatchObject({ admitted: 2, waiting: 3, active: 2 })
      expect(await store.admit(concertId, l)).toMatchObject({ admitted: 0, waiting: 3, active: 2 })

      expect((await pollAll(tickets)).map((v) => v.position)).toEqual([null, null, 1, 2, 3])
    })

    test('never admits more than admitPerSecond in one second of the store clock', async () => {
      const concertId = await sut.newConcert()
      const l = limits({ admitPerSecond: 3 })
      const tickets = await joinAll(concertId, Array.from({ length: 10 }, (_, i) => `u${i}`))
      await startOfSecond()

      const from = Date.now()
      const steps = [await store.admit(concertId, l), await store.admit(concertId, l), await store.admit(concertId, l)]
      const to = Date.now()

      expect(steps[0]!.admitted).toBe(3)
      const admitted = steps.reduce((n, s) => n + s.admitted, 0)
      expect(admitted).toBeLessThanOrEqual(3 * secondsSpanned(from, to))
      await startOfSecond()
      expect((await store.admit(concertId, l)).admitted).toBe(3)
      expect(statuses(await pollAll(tickets)).filter((s) => s === 'ACTIVE')).toHaveLength(admitted + 3)
    })

    test('ten admission steps at once never exceed the capacity, and admit the front of the line', async () => {
      const concertId = await sut.newConcert()
      const l = limits({ maxActive: 4, admitPerSecond: 1000 })
      const tickets = await joinAll(concertId, Array.from({ length: 20 }, (_, i) => `u${i}`))

      const steps = await Promise.all(Array.from({ length: 10 }, () => store.admit(concertId, l)))

      expect(steps.reduce((n, s) => n + s.admitted, 0)).toBe(4)
      const views = await pollAll(tickets)
      expect(statuses(views.slice(0, 4))).toEqual(['ACTIVE', 'ACTIVE', 'ACTIVE', 'ACTIVE'])
      expect(views[4]).toMatchObject({ status: 'WAITING', position: 1 })
    })

    test('ten admission steps at once never exceed the per-second rate', async () => {
      const concertId = await sut.newConcert()
      const l = limits({ admitPerSecond: 3 })
      const tickets = await joinAll(concertId, Array.from({ length: 20 }, (_, i) => `u${i}`))
      await startOfSecond()

      const from = Date.now()
      const steps = await Promise.all(Array.from({ length: 10 }, () => store.admit(concertId, l)))
      const to = Date.now()

      const admitted = steps.reduce((n, s) => n + s.admitted, 0)
      expect(admitted).toBeGreaterThanOrEqual(3)
      expect(admitted).toBeLessThanOrEqual(3 * secondsSpanned(from, to))
      const views = await pollAll(tickets)
      expect(views.findIndex((v) => v.status !== 'ACTIVE')).toBe(admitted)
    })

    test('a sold-out line admits nobody', async () => {
      const concertId = await sut.newConcert()
      await joinAll(concertId, ['a', 'b'])
      await store.setSoldOut(concertId, true)

      expect((await store.admit(concertId, limits())).admitted).toBe(0)
    })
  })

  describe.concurrent('active sessions', () => {
    test('an active session lapses after activeTtlSeconds and its slot goes to the next at the next admission', async () => {
      const concertId = await sut.newConcert()
      const l = limits({ maxActive: 1, activeTtlSeconds: 1 })
      const [a, b] = await joinAll(concertId, ['a', 'b'])
      const before = Date.now()
      await store.admit(concertId, l)
      const active = await store.check(a!, l)
      expect(active.status).toBe('ACTIVE')
      expect(active.activeUntilMs!).toBeGreaterThanOrEqual(before + 1000 - 50)
      expect(active.activeUntilMs!).toBeLessThanOrEqual(Date.now() + 1000 + 50)

      await sleep(PAST_LIMIT_MS)
      expect(await store.poll(a!, l)).toMatchObject({ status: 'EXPIRED', activeUntilMs: null })
      expect((await store.extend(a!, Date.now() + 60_000, l)).status).toBe('EXPIRED')

      expect(await store.admit(concertId, l)).toMatchObject({ admitted: 1, expired: 1, active: 1 })
      expect((await store.poll(b!, l)).status).toBe('ACTIVE')
      expect((await store.poll(a!, l)).status).toBe('EXPIRED')
    })

    test('extend lengthens a live active session and never shortens it', async () => {
      const concertId = await sut.newConcert()
      const [a] = await joinAll(concertId, ['a'])
      await store.admit(concertId, limits())
      const until = Date.now() + 120_000

      const longer = await store.extend(a!, until, limits())
      expect(longer.status).toBe('ACTIVE')
      expect(Math.abs(longer.activeUntilMs! - until)).toBeLessThanOrEqual(1)

      const shorter = await store.extend(a!, Date.now() + 5_000, limits())
      expect(shorter).toMatchObject({ status: 'ACTIVE', activeUntilMs: longer.activeUntilMs })
      expect((await store.check(a!, limits())).activeUntilMs).toBe(longer.activeUntilMs)
    })

    test('an active session knows its own time (admission + activeTtlSeconds); extending it for a hold leaves that as it was', async () => {
      const concertId = await sut.newConcert()
      const [a] = await joinAll(concertId, ['own'])
      const admittedAt = Date.now()
      await store.admit(concertId, limits())
      const checked = await store.check(a!, limits())
      expect(checked.status).toBe('ACTIVE')
      expect(Math.abs(checked.ownUntilMs! - (admittedAt + 60_000))).toBeLessThanOrEqual(1_000)
      const extended = await store.extend(a!, Date.now() + 120_000, limits())
      expect(extended.ownUntilMs).toBe(checked.ownUntilMs)
      expect(extended.activeUntilMs!).toBeGreaterThan(checked.ownUntilMs!)
    })

    test('past its own time an ACTIVE session is not extended: it lives on only to pay what it holds (helper-34)', async () => {
      const concertId = await sut.newConcert()
      const l = limits({ activeTtlSeconds: 1 })
      const [a] = await joinAll(concertId, ['own-over'])
      await store.admit(concertId, l)
      const held = await store.extend(a!, Date.now() + 60_000, l) // a hold made within its own time
      await sleep(PAST_LIMIT_MS)

      const again = await store.extend(a!, Date.now() + 120_000, l) // a hold, cancel, hold again
      expect(again).toMatchObject({ status: 'ACTIVE', activeUntilMs: held.activeUntilMs })
      expect(again.ownUntilMs!).toBeLessThan(Date.now())
      expect((await store.check(a!, l)).activeUntilMs).toBe(held.activeUntilMs)
    })

    test('shrink ends an extension: the session lasts to its own time or the given end, whichever is later, and never longer than before', async () => {
      const concertId = await sut.newConcert()
      const [a, b] = await joinAll(concertId, ['shrink-a', 'shrink-b'])
      await store.admit(concertId, limits())
      const own = (await store.check(a!, limits())).ownUntilMs!
      await store.extend(a!, own + 120_000, limits())
      await store.shrink(a!, own + 30_000, limits())
      expect(Math.abs((await store.check(a!, limits())).activeUntilMs! - (own + 30_000))).toBeLessThanOrEqual(1)
      await store.shrink(a!, 0, limits())
      expect(Math.abs((await store.check(a!, limits())).activeUntilMs! - own)).toBeLessThanOrEqual(1)
      await store.shrink(a!, own + 90_000, limits()) // never lengthens
      expect(Math.abs((await store.check(a!, limits())).activeUntilMs! - own)).toBeLessThanOrEqual(1)
      // Another session is left alone.
      const bBefore = (await store.check(b!, limits())).activeUntilMs
      await store.shrink({ ...b!, seq: b!.seq + 1000 }, 0, limits())
      expect((await store.check(b!, limits())).activeUntilMs).toBe(bBefore)
    })

    test('extend does not admit a waiting user nor revive a finished session', async () => {
      const concertId = await sut.newConcert()
      const [a, b] = await joinAll(concertId, ['a', 'b'])
      await store.admit(concertId, limits({ admitPerSecond: 1 }))
      await store.finish(a!)

      expect(await store.extend(b!, Date.now() + 60_000, limits())).toMatchObject({ status: 'WAITING', position: 1 })
      expect(await store.extend(a!, Date.now() + 60_000, limits())).toMatchObject({ status: 'DONE', activeUntilMs: null })
      expect((await store.check(b!, limits())).status).toBe('WAITING')
    })

    test('extends of one line at once never shorten a session, one session twice among them included (the holds of one batch)', async () => {
      const concertId = await sut.newConcert()
      const [a, b, c] = await joinAll(concertId, ['at-once-a', 'at-once-b', 'at-once-c'])
      await store.admit(concertId, limits({ maxActive: 2 }))
      const now = Date.now()
      // b first: a store that batches sends it alone and the rest together, a's three in one call.
      const untils = [now + 120_000, now + 70_000, now + 90_000]
      const [other, ...views] = await Promise.all([
        store.extend(b!, now + 80_000, limits()),
        ...untils.map((until) => store.extend(a!, until, limits())),
        store.extend(c!, now + 80_000, limits()), // waiting: not admitted by it
      ])
      const waiting = views.pop()!
      const near = (ms: number | null, to: number) => expect(Math.abs(ms! - to)).toBeLessThanOrEqual(1)
      near(other.activeUntilMs, now + 80_000)
      views.forEach((view, i) => {
        expect(view.status).toBe('ACTIVE')
        expect(view.activeUntilMs!).toBeGreaterThanOrEqual(untils[i]! - 1)
        expect(view.activeUntilMs!).toBeLessThanOrEqual(now + 120_001)
      })
      expect(waiting).toMatchObject({ status: 'WAITING', position: 1, activeUntilMs: null })
      near((await store.check(a!, limits())).activeUntilMs, now + 120_000)
      near((await store.check(b!, limits())).activeUntilMs, now + 80_000)
      expect((await store.check(c!, limits())).status).toBe('WAITING')
    })

    test('finishes at once (the payments of one batch end their sessions together) end each ACTIVE session named once and touch no other', async () => {
      const concertId = await sut.newConcert()
      const l = limits({ maxActive: 3 })
      const [a, b, c, d] = await joinAll(concertId, ['fin-a', 'fin-b', 'fin-c', 'fin-d'])
      await store.admit(concertId, l)
      // c first, then the rest: a store that batched them would send c alone and the rest together, a twice among them.
      await Promise.all([
        store.finish(c!),
        store.finish(a!),
        store.finish(a!),
        store.finish({ ...b!, seq: b!.seq + 1000 }), // not b's seq: b stays
        store.finish(d!), // waiting: not admitted, not ended
      ])
      expect((await store.check(a!, l)).status).toBe('DONE')
      expect((await store.check(c!, l)).status).toBe('DONE')
      expect((await store.check(b!, l)).status).toBe('ACTIVE')
      expect(await store.check(d!, l)).toMatchObject({ status: 'WAITING', position: 1 })
      // Two slots are free again and one is still taken: d is admitted, b stays.
      expect(await store.admit(concertId, l)).toMatchObject({ admitted: 1, active: 2 })
      expect((await store.check(d!, l)).status).toBe('ACTIVE')
    })

    test('finish ends an active session as DONE and frees its slot for the next admission', async () => {
      const concertId = await sut.newConcert()
      const l = limits({ maxActive: 1 })
      const [a, b] = await joinAll(concertId, ['a', 'b'])
      await store.admit(concertId, l)
      expect((await store.admit(concertId, l)).admitted).toBe(0)

      await store.finish(a!)

      expect(await store.poll(a!, l)).toMatchObject({ status: 'DONE', position: null, activeUntilMs: null })
      expect((await store.check(a!, l)).status).toBe('DONE')
      expect(await store.admit(concertId, l)).toMatchObject({ admitted: 1, active: 1 })
      expect((await store.poll(b!, l)).status).toBe('ACTIVE')
    })

    test('finish leaves a waiting session alone', async () => {
      const concertId = await sut.newConcert()
      const [a] = await joinAll(concertId, ['a'])

      await store.finish(a!)

      expect(await store.poll(a!, limits())).toMatchObject({ status: 'WAITING', position: 1 })
    })
  })

  describe.concurrent('sold out', () => {
    test('waiting and active users of a sold-out line read SOLD_OUT, and joining is refused', async () => {
      const concertId = await sut.newConcert()
      const [a, b] = await joinAll(concertId, ['a', 'b'])
      await store.admit(concertId, limits({ admitPerSecond: 1 }))

      await store.setSoldOut(concertId, true)

      expect(await store.poll(a!, limits())).toMatchObject({ status: 'SOLD_OUT', position: null, activeUntilMs: null })
      expect((await store.check(a!, limits())).status).toBe('SOLD_OUT')
      expect((await store.extend(a!, Date.now() + 60_000, limits())).status).toBe('SOLD_OUT')
      expect(await store.poll(b!, limits())).toMatchObject({ status: 'SOLD_OUT', position: null })
      expect(await store.join(concertId, 'c', limits())).toBe('SOLD_OUT')
      expect(await store.join(concertId, 'b', limits())).toBe('SOLD_OUT')
    })

    test('a line opened again serves its places as before', async () => {
      const concertId = await sut.newConcert()
      const [a, b] = await joinAll(concertId, ['a', 'b'])
      await store.admit(concertId, limits({ admitPerSecond: 1 }))
      await store.setSoldOut(concertId, true)

      await store.setSoldOut(concertId, false)

      expect((await store.poll(a!, limits())).status).toBe('ACTIVE')
      expect(await store.poll(b!, limits())).toMatchObject({ status: 'WAITING', position: 1 })
      expect(await join(concertId, 'b')).toMatchObject({ seq: b!.seq, created: false })
    })

    test('a session that already ended reads its end, not SOLD_OUT', async () => {
      const concertId = await sut.newConcert()
      const [a] = await joinAll(concertId, ['a'])
      await store.admit(concertId, limits())
      await store.finish(a!)

      await store.setSoldOut(concertId, true)

      expect((await store.poll(a!, limits())).status).toBe('DONE')
    })
  })

  describe.concurrent('ended sessions and joining again', () => {
    test('after going idle, joining again gives a fresh place at the back', async () => {
      const concertId = await sut.newConcert()
      const idle = limits({ waitingIdleSeconds: IDLE_SECONDS })
      const [a, b] = await joinAll(concertId, ['a', 'b'], idle)
      await sleep(HALF_LIMIT_MS)
      await store.poll(b!, idle)
      await sleep(PAST_LIMIT_MS - HALF_LIMIT_MS)
      expect((await store.poll(a!, idle)).status).toBe('EXPIRED')

      const again = await join(concertId, 'a', idle)

      expect(again).toMatchObject({ created: true, view: { status: 'WAITING', position: 2 } })
      expect(again.seq).toBeGreaterThan(b!.seq)
      expect((await store.poll(a!, idle)).status).toBe('EXPIRED')
      expect(await store.poll({ ...a!, seq: again.seq }, idle)).toMatchObject({ status: 'WAITING', position: 2 })
    })

    test('after an active session lapses, joining again gives a fresh place', async () => {
      const concertId = await sut.newConcert()
      const l = limits({ activeTtlSeconds: 1 })
      const [a] = await joinAll(concertId, ['a'])
      await store.admit(concertId, l)
      await sleep(PAST_LIMIT_MS)

      const again = await join(concertId, 'a', l)

      expect(again).toMatchObject({ created: true, view: { status: 'WAITING', position: 1 } })
      expect(again.seq).toBeGreaterThan(a!.seq)
      expect((await store.check(a!, l)).status).toBe('EXPIRED')
    })

    test('after DONE, joining again gives a fresh place at the back and the old token still reads DONE', async () => {
      const concertId = await sut.newConcert()
      const [a, b] = await joinAll(concertId, ['a', 'b'])
      await store.admit(concertId, limits({ admitPerSecond: 1 }))
      await store.finish(a!)

      const again = await join(concertId, 'a')

      expect(again).toMatchObject({ created: true, view: { status: 'WAITING', position: 2 } })
      expect(again.seq).toBeGreaterThan(b!.seq)
      expect((await store.poll(a!, limits())).status).toBe('DONE')
    })

    test('an active user joining again keeps the active session', async () => {
      const concertId = await sut.newConcert()
      const [a] = await joinAll(concertId, ['a'])
      await store.admit(concertId, limits())

      const again = await join(concertId, 'a')

      expect(again).toMatchObject({ seq: a!.seq, created: false, view: { status: 'ACTIVE', position: null } })
      expect(again.view.activeUntilMs!).toBeGreaterThan(Date.now())
    })
  })

  describe.concurrent('lines', () => {
    test('a concert is listed while anyone waits or is active, and not after the last one finishes', async () => {
      const concertId = await sut.newConcert()
      expect(await store.lines()).not.toContain(concertId)
      const [a] = await joinAll(concertId, ['a'])
      expect(await store.lines()).toContain(concertId)
      await store.admit(concertId, limits())
      expect(await store.lines()).toContain(concertId)

      await store.finish(a!)

      expect(await store.lines()).not.toContain(concertId)
    })

    test('a line whose waiters all went idle is not listed after the next admission step', async () => {
      const concertId = await sut.newConcert()
      const idle = limits({ waitingIdleSeconds: IDLE_SECONDS })
      await joinAll(concertId, ['a'], idle)
      await sleep(PAST_LIMIT_MS)

      await store.admit(concertId, idle)

      expect(await store.lines()).not.toContain(concertId)
    })
  })

  describe.concurrent('operator controls', () => {
    test('stats count live waiters and active sessions, admissions of the last minute and the oldest wait', async () => {
      const concertId = await sut.newConcert()
      const before = Date.now()
      await joinAll(concertId, ['a', 'b', 'c', 'd', 'e'])
      const after = Date.now()
      await store.admit(concertId, limits({ maxActive: 2 }))

      const stats = await store.stats(concertId, limits())

      expect(stats).toMatchObject({ waiting: 3, active: 2, admittedLastMinute: 2, soldOut: false })
      // c joined third: the front of the line now; sampled join times may date it a little earlier.
      expect(stats.oldestJoinedMs!).toBeGreaterThanOrEqual(before - 1000)
      expect(stats.oldestJoinedMs!).toBeLessThanOrEqual(after + 1000)
    })

    test('the oldest wait is known after the line emptied and filled again (helper-33: null while one waited)', async () => {
      const concertId = await sut.newConcert()
      const idle = limits({ waitingIdleSeconds: IDLE_SECONDS })
      await joinAll(concertId, ['a'], idle)
      await sleep(PAST_LIMIT_MS)
      await store.admit(concertId, idle) // a went idle: the line is empty
      const before = Date.now()
      await joinAll(concertId, ['b'], idle)

      const stats = await store.stats(concertId, idle)

      expect(stats.waiting).toBe(1)
      expect(stats.oldestJoinedMs).not.toBeNull()
      expect(stats.oldestJoinedMs!).toBeGreaterThanOrEqual(before - 1000)
    })

    test('stats of a line nobody joined: all zero, no oldest wait', async () => {
      const concertId = await sut.newConcert()
      expect(await store.stats(concertId, limits())).toEqual({
        waiting: 0,
        active: 0,
        admittedLastMinute: 0,
        oldestJoinedMs: null,
        soldOut: false,
      })
    })

    test('ending a session: the token reads EXPIRED, the end names its seq, and the slot goes to the next at the next step', async () => {
      const concertId = await sut.newConcert()
      const [a, b, c] = await joinAll(concertId, ['a', 'b', 'c'])
      const one = limits({ maxActive: 1 })
      await store.admit(concertId, one)

      // The seq names the session whose holds the database then refuses (sql/functions/end_session_holds.sql).
      expect(await store.endSession(concertId, 'a')).toBe(a!.seq)
      expect(await store.endSession(concertId, 'c')).toBe(c!.seq)
      expect(await store.endSession(concertId, 'c')).toBeNull()
      expect(await store.endSession(concertId, 'nobody')).toBeNull()
      expect((await store.poll(a!, one)).status).toBe('EXPIRED')
      expect((await store.poll(c!, one)).status).toBe('EXPIRED')

      await store.admit(concertId, one)

      expect((await store.poll(b!, one)).status).toBe('ACTIVE')
    })

    test('ending a place in the pre-queue names its seq too', async () => {
      const concertId = await sut.newConcert()
      const [early] = await joinAll(concertId, ['pre-ended'], limits({ opensAtMs: Date.now() + 60_000 }))
      expect(await store.endSession(concertId, 'pre-ended')).toBe(early!.seq)
    })

    test('admission paused (0 per second) admits nobody but still drops lapsed sessions', async () => {
      const concertId = await sut.newConcert()
      const [a, b] = await joinAll(concertId, ['a', 'b'])
      const short = limits({ activeTtlSeconds: 1, maxActive: 1 })
      await store.admit(concertId, short)
      await sleep(PAST_LIMIT_MS)

      const paused = await store.admit(concertId, { ...short, admitPerSecond: 0 })

      expect(paused).toMatchObject({ admitted: 0, expired: 1 })
      expect(statuses(await pollAll([a!, b!]))).toEqual(['EXPIRED', 'WAITING'])
    })
  })

  describe.concurrent('the pre-queue and its random start', () => {
    /** Spearman's rank correlation of two rankings of the same items (no ties). */
    function rankCorrelation(a: number[], b: number[]) {
      const n = a.length
      const rank = (xs: number[]) => {
        const order = xs.map((x, i) => [x, i] as const).sort((p, q) => p[0] - q[0])
        const r = new Array<number>(n)
        order.forEach(([, i], k) => (r[i] = k))
        return r
      }
      const ra = rank(a)
      const rb = rank(b)
      const d2 = ra.reduce((sum, x, i) => sum + (x - rb[i]!) ** 2, 0)
      return 1 - (6 * d2) / (n * (n * n - 1))
    }

    test('before the opening: WAITING with no position, and nobody is admitted', async () => {
      const concertId = await sut.newConcert()
      const early = limits({ opensAtMs: Date.now() + 60_000 })
      const [a, b] = await joinAll(concertId, ['a', 'b'], early)

      expect((await store.join(concertId, 'a', early)) as { view: SessionView }).toMatchObject({ seq: a!.seq, created: false, view: { status: 'WAITING', position: null } })
      expect(await store.admit(concertId, early)).toMatchObject({ admitted: 0 })
      expect(await pollAll([a!, b!], early)).toEqual([
        { status: 'WAITING', position: null, activeUntilMs: null, pace: { active: 0, endedPerSecond: 0, liveAverage: 0 }, ownUntilMs: null },
        { status: 'WAITING', position: null, activeUntilMs: null, pace: { active: 0, endedPerSecond: 0, liveAverage: 0 }, ownUntilMs: null },
      ])
      expect(statuses(await store.pollMany(concertId, [b!, a!], early))).toEqual(['WAITING', 'WAITING'])
      expect((await store.pollMany(concertId, [b!], early))[0]!.position).toBeNull()
    })

    test('at the opening the pre-queue gets a random order ahead of later arrivals, who keep FIFO; tokens keep working', async () => {
      const concertId = await sut.newConcert()
      // Everyone early joins well before the opening, however slow the machine; then the opening is
      // moved to the past (the limits are the line's settings of the moment, as after an operator's PATCH).
      const users = Array.from({ length: 200 }, (_, i) => `pre-${i}`)
      const early = await joinAll(concertId, users, limits({ opensAtMs: Date.now() + 60_000, admitPerSecond: 1000, maxActive: 1000 }))
      const pre = limits({ opensAtMs: Date.now() - 1, admitPerSecond: 1000, maxActive: 1000 })
      const late = await joinAll(concertId, ['late-1', 'late-2'], pre)

      // The opening step draws, then admits nobody (capacity 0 here) so that the order can be read.
      await store.admit(concertId, { ...pre, maxActive: 0 })

      const positions = (await store.pollMany(concertId, [...early, ...late], pre)).map((v) => v.position!)
      expect(positions.slice(0, 200).sort((x, y) => x - y)).toEqual(users.map((_, i) => i + 1))
      expect(positions.slice(200)).toEqual([201, 202])
      // Join order and drawn order are unrelated: FIFO would give 1; 0.3 is more than four standard
      // deviations of a random order of 200.
      expect(Math.abs(rankCorrelation(early.map((t) => t.seq), positions.slice(0, 200)))).toBeLessThan(0.3)
      // Each token still names its place; joining again returns it.
      expect(await store.join(concertId, 'pre-7', pre)).toMatchObject({ seq: early[7]!.seq, created: false, view: { position: positions[7] } })

      // Admission follows the drawn order.
      await store.admit(concertId, { ...pre, maxActive: 10 })
      const admitted = (await pollAll(early, pre)).map((v, i) => (v.status === 'ACTIVE' ? positions[i] : null)).filter((p) => p !== null)
      expect(admitted.sort((x, y) => x! - y!)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    })

    test('places given before the draw outside the pre-queue (an opening set on an open line, or an instance a tick late to hear of it) queue behind the drawn pre-queue, in join order', async () => {
      const concertId = await sut.newConcert()
      const open = limits({ admitPerSecond: 1000, maxActive: 0 })
      const early = limits({ opensAtMs: Date.now() + 60_000, admitPerSecond: 1000, maxActive: 0 })
      // Ordinary places among the pre-queue's, in join order: before it, between its joins and after it.
      const [first] = await joinAll(concertId, ['ord-first'], open)
      const preA = await joinAll(concertId, ['pre-a1', 'pre-a2', 'pre-a3'], early)
      const [middle] = await joinAll(concertId, ['ord-middle'], open)
      const preB = await joinAll(concertId, ['pre-b1', 'pre-b2'], early)
      const [last] = await joinAll(concertId, ['ord-last'], open)

      const opened = limits({ opensAtMs: Date.now() - 1, admitPerSecond: 1000, maxActive: 0 })
      await store.admit(concertId, opened)
      const [later] = await joinAll(concertId, ['after-opening'], opened)

      const pre = (await store.pollMany(concertId, [...preA, ...preB], opened)).map((v) => v.position!)
      expect(pre.sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5])
      // Arriving early outside the pre-queue gives no edge over it: behind it, in the order they came.
      expect((await store.pollMany(concertId, [first!, middle!, last!, later!], opened)).map((v) => v.position)).toEqual([6, 7, 8, 9])
    })

    test('an opening cleared before its draw: the pre-queue is settled in join order, ahead of later joiners, with positions (helper-34)', async () => {
      const concertId = await sut.newConcert()
      const early = limits({ opensAtMs: Date.now() + 60_000, maxActive: 0 })
      const pre = await joinAll(concertId, ['settle-a', 'settle-b', 'settle-c'], early)
      const open = limits({ maxActive: 0 })
      const [later] = await joinAll(concertId, ['settle-later'], open)
      // Before the settle: the pre-queue has no position, and no opening is left to give one.
      expect((await store.pollMany(concertId, pre, open)).map((v) => v.position)).toEqual([null, null, null])

      await store.settlePreQueue(concertId)
      await store.admit(concertId, open)

      expect((await store.pollMany(concertId, [...pre, later!], open)).map((v) => v.position)).toEqual([1, 2, 3, 4])
      await store.settlePreQueue(concertId) // twice is harmless
      expect((await store.pollMany(concertId, [later!, ...pre], open)).map((v) => v.position)).toEqual([4, 1, 2, 3])
    })

    test('settling a drawn line leaves its order alone', async () => {
      const concertId = await sut.newConcert()
      const tickets = await joinAll(concertId, Array.from({ length: 12 }, (_, i) => `drawn-${i}`), limits({ opensAtMs: Date.now() + 60_000, maxActive: 0 }))
      const opened = limits({ opensAtMs: Date.now() - 1, maxActive: 0 })
      await store.admit(concertId, opened)
      const drawn = (await store.pollMany(concertId, tickets, opened)).map((v) => v.position)

      await store.settlePreQueue(concertId)
      await store.admit(concertId, limits({ maxActive: 0 }))

      expect((await store.pollMany(concertId, tickets, limits({ maxActive: 0 }))).map((v) => v.position)).toEqual(drawn)
    })

    test('the draw happens once: a second step, or a step from another caller, leaves the order alone', async () => {
      const concertId = await sut.newConcert()
      const tickets = await joinAll(concertId, Array.from({ length: 30 }, (_, i) => `once-${i}`), limits({ opensAtMs: Date.now() + 60_000, maxActive: 0 }))
      const pre = limits({ opensAtMs: Date.now() - 1, maxActive: 0 })

      await Promise.all([store.admit(concertId, pre), store.admit(concertId, pre)])
      const first = (await store.pollMany(concertId, tickets, pre)).map((v) => v.position)
      await store.admit(concertId, pre)
      const again = (await store.pollMany(concertId, tickets, pre)).map((v) => v.position)

      expect(first.every((p) => p !== null)).toBe(true)
      expect(again).toEqual(first)
    })
  })
}
