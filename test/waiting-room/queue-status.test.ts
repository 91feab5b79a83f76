import { describe, expect, test } from 'bun:test'
import { queueStatus } from '../../src/waiting-room/queue-status'
import type { LineLimits, LinePace } from '../../src/waiting-room/store'

const limits = { maxActive: 100, admitPerSecond: 50, activeTtlSeconds: 600, waitingIdleSeconds: 300 }
const concertId = '7b4c8a5e-6f0a-4c62-9d1a-2b0f0a7e6b11'
const waiting = (position: number, pace: LinePace | null = null, lineLimits: LineLimits = limits) =>
  queueStatus(concertId, { status: 'WAITING', position, activeUntilMs: null, pace, ownUntilMs: null }, lineLimits)

describe('queue status', () => {
  test('the places free now fill at the admission rate; past them each place waits for a session to end', () => {
    // Nothing measured yet (a sale's first second): nobody is live, 100 places fill at 50 a second.
    expect(waiting(50).estimatedWaitSeconds).toBe(1)
    expect(waiting(100).estimatedWaitSeconds).toBe(2)
    // Past them, sessions end at least as fast as when each uses its whole 600 s: 100 / 600 a second.
    expect(waiting(101).estimatedWaitSeconds).toBe(2 + 6)
    expect(waiting(400).estimatedWaitSeconds).toBe(2 + 300 * 6)
    // 40 live: 60 places free.
    expect(waiting(60, { active: 40, endedPerSecond: 0, liveAverage: 40 }).estimatedWaitSeconds).toBe(2)
    expect(waiting(61, { active: 40, endedPerSecond: 0, liveAverage: 40 }).estimatedWaitSeconds).toBe(2 + 6)
  })

  test("helper-50's line (capacity 10, sessions of 10 s, 5 admitted a second): the wait is the sessions' turnover, not the rate", () => {
    const line = { maxActive: 10, admitPerSecond: 5, activeTtlSeconds: 10, waitingIdleSeconds: 300 }
    // At the join, before any step: 10 places at the rate, then one a second (measured: 11.5 s for the
    // 20th, 32.4 s for the 40th, 53.5 s for the 60th; the rate alone said 4, 8 and 12).
    expect([20, 40, 60].map((p) => waiting(p, null, line).estimatedWaitSeconds)).toEqual([12, 32, 52])
    // Full, nobody ended yet: one a second.
    expect(waiting(50, { active: 10, endedPerSecond: 0, liveAverage: 10 }, line).estimatedWaitSeconds).toBe(50)
    // People paid: places come free as fast as sessions were measured ending, never faster than the rate.
    expect(waiting(50, { active: 10, endedPerSecond: 2, liveAverage: 10 }, line).estimatedWaitSeconds).toBe(25)
    expect(waiting(50, { active: 10, endedPerSecond: 40, liveAverage: 10 }, line).estimatedWaitSeconds).toBe(10)
  })

  test("helper-52's line: a measure taken under a larger capacity holds for the capacity of now", () => {
    // Sessions of 10 s that ran under a capacity of 40: 40 live on average, 4 ending a second. The operator
    // lowers the capacity to 10: the same sessions come free at 10 / 10 s, one a second, not four.
    const lowered = { maxActive: 10, admitPerSecond: 5, activeTtlSeconds: 10, waitingIdleSeconds: 300 }
    expect(waiting(50, { active: 40, endedPerSecond: 4, liveAverage: 40 }, lowered).estimatedWaitSeconds).toBe(50)
    // Raised from 10 to 40 (10 live on average, one ending a second): 30 places free at the rate, then four a second.
    const raised = { ...lowered, maxActive: 40 }
    expect(waiting(50, { active: 10, endedPerSecond: 1, liveAverage: 10 }, raised).estimatedWaitSeconds).toBe(6 + 5)
    // Buyers who pay in 2 s of a 10 s session: a full line of 10 comes free five a second.
    expect(waiting(50, { active: 10, endedPerSecond: 5, liveAverage: 10 }, lowered).estimatedWaitSeconds).toBe(10)
  })

  test('pollAfterMs grows with the distance from the front and stays inside the idle limit', () => {
    const near = waiting(1).pollAfterMs
    const mid = waiting(2_000).pollAfterMs
    const far = waiting(1_000_000).pollAfterMs
    expect(near).toBeLessThan(mid)
    expect(mid).toBeLessThanOrEqual(far)
    expect(far).toBeLessThanOrEqual((limits.waitingIdleSeconds * 1000) / 3)
    const shortIdle = queueStatus(concertId, { status: 'WAITING', position: 10_000, activeUntilMs: null, pace: { active: 0, endedPerSecond: 0, liveAverage: 0 }, ownUntilMs: null }, {
      ...limits,
      waitingIdleSeconds: 3,
    })
    expect(shortIdle.pollAfterMs).toBeLessThanOrEqual(1000)
  })

  test('a paused line: the wait counted from the resume; no place polls more often than every twentieth of a session, up to 5 s', () => {
    const paused = { ...limits, paused: true }
    expect(waiting(1, null, paused)).toMatchObject({ estimatedWaitSeconds: 1, pollAfterMs: 5_000 })
    expect(waiting(1).pollAfterMs).toBe(500)
    expect(waiting(100_000, null, paused).pollAfterMs).toBe(waiting(100_000).pollAfterMs)
    // Never past a third of the idle limit, or the place would lapse while it waits.
    expect(waiting(1, null, { ...paused, waitingIdleSeconds: 6 }).pollAfterMs).toBe(2_000)
    // Sessions of 40 s: a place admitted at the resume learns it within 2 s of its turn; of 10 s, as unpaused.
    expect(waiting(1, null, { ...paused, activeTtlSeconds: 40 }).pollAfterMs).toBe(2_000)
    expect(waiting(1, null, { ...paused, activeTtlSeconds: 10 }).pollAfterMs).toBe(500)
  })

  test('a numbered place before an opening (set on an open line, or moved past the draw) waits for the opening first, and polls accordingly', () => {
    const now = Date.UTC(2027, 0, 1, 12)
    const place = (position: number, opensAtMs: number) =>
      queueStatus(concertId, { status: 'WAITING', position, activeUntilMs: null, pace: null, ownUntilMs: null }, { ...limits, opensAtMs }, now)
    // An hour away: the hour, then its turn; polls as far apart as the idle limit allows, not every 500 ms.
    expect(place(1, now + 3_600_000)).toMatchObject({ position: 1, estimatedWaitSeconds: 3_601, pollAfterMs: 30_000, opensAt: null })
    expect(place(101, now + 3_600_000).estimatedWaitSeconds).toBe(3_600 + 2 + 6)
    // Ten seconds away: come back in a quarter of the wait.
    expect(place(1, now + 10_000)).toMatchObject({ estimatedWaitSeconds: 11, pollAfterMs: 2_750 })
    // Whoever is live now is gone by an opening further away than a session's time (600 s): all 100
    // places are free then; nearer, the live sessions still count.
    const full = { active: 100, endedPerSecond: 0, liveAverage: 100 }
    const placeIn = (position: number, opensAtMs: number) =>
      queueStatus(concertId, { status: 'WAITING', position, activeUntilMs: null, pace: full, ownUntilMs: null }, { ...limits, opensAtMs }, now)
    expect(placeIn(1, now + 3_600_000).estimatedWaitSeconds).toBe(3_601)
    expect(placeIn(1, now + 60_000).estimatedWaitSeconds).toBe(60 + 6)
    // An opening that has passed changes nothing.
    expect(place(1, now - 1_000)).toMatchObject({ estimatedWaitSeconds: 1, pollAfterMs: 500 })
  })

  test('only WAITING has a position and estimate, only ACTIVE has activeUntil', () => {
    const until = Date.now() + 60_000
    const active = queueStatus(concertId, { status: 'ACTIVE', position: null, activeUntilMs: until, pace: { active: 0, endedPerSecond: 0, liveAverage: 0 }, ownUntilMs: null }, limits)
    expect(active).toMatchObject({ position: null, estimatedWaitSeconds: null, activeUntil: new Date(until).toISOString() })
    for (const status of ['EXPIRED', 'DONE', 'SOLD_OUT'] as const) {
      expect(queueStatus(concertId, { status, position: 3, activeUntilMs: until, pace: { active: 0, endedPerSecond: 0, liveAverage: 0 }, ownUntilMs: null }, limits)).toMatchObject({
        status,
        position: null,
        estimatedWaitSeconds: null,
        activeUntil: null,
      })
    }
  })
})
