import { describe, expect, test } from 'bun:test'
import { queueStatus } from '../../src/waiting-room/queue-status'

const limits = { maxActive: 100, admitPerSecond: 50, activeTtlSeconds: 600, waitingIdleSeconds: 300 }
const concertId = '7b4c8a5e-6f0a-4c62-9d1a-2b0f0a7e6b11'
const waiting = (position: number, admittedPerSecond: number | null = null) =>
  queueStatus(concertId, { status: 'WAITING', position, activeUntilMs: null, admittedPerSecond, ownUntilMs: null }, limits)

describe('queue status', () => {
  test('the wait estimate uses the measured pace, the configured rate until one is measured', () => {
    expect(waiting(500).estimatedWaitSeconds).toBe(10)
    expect(waiting(500, 5).estimatedWaitSeconds).toBe(100)
  })

  test('pollAfterMs grows with the distance from the front and stays inside the idle limit', () => {
    const near = waiting(1).pollAfterMs
    const mid = waiting(2_000).pollAfterMs
    const far = waiting(1_000_000).pollAfterMs
    expect(near).toBeLessThan(mid)
    expect(mid).toBeLessThanOrEqual(far)
    expect(far).toBeLessThanOrEqual((limits.waitingIdleSeconds * 1000) / 3)
    const shortIdle = queueStatus(concertId, { status: 'WAITING', position: 10_000, activeUntilMs: null, admittedPerSecond: 1, ownUntilMs: null }, {
      ...limits,
      waitingIdleSeconds: 3,
    })
    expect(shortIdle.pollAfterMs).toBeLessThanOrEqual(1000)
  })

  test('only WAITING has a position and estimate, only ACTIVE has activeUntil', () => {
    const until = Date.now() + 60_000
    const active = queueStatus(concertId, { status: 'ACTIVE', position: null, activeUntilMs: until, admittedPerSecond: 1, ownUntilMs: null }, limits)
    expect(active).toMatchObject({ position: null, estimatedWaitSeconds: null, activeUntil: new Date(until).toISOString() })
    for (const status of ['EXPIRED', 'DONE', 'SOLD_OUT'] as const) {
      expect(queueStatus(concertId, { status, position: 3, activeUntilMs: until, admittedPerSecond: 1, ownUntilMs: null }, limits)).toMatchObject({
        status,
        position: null,
        estimatedWaitSeconds: null,
        activeUntil: null,
      })
    }
  })
})
