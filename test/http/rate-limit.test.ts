import { describe, expect, test } from 'bun:test'
import { rateLimiter } from '../../src/http/rate-limit'

describe('rate limiter', () => {
  test('allows the burst, then asks to wait, per key', () => {
    const limiter = rateLimiter({ perSecond: 2, burst: 3 })
    expect([1, 2, 3].map(() => limiter.take('a'))).toEqual([0, 0, 0])
    expect(limiter.take('a')).toBe(1)
    expect(limiter.take('b')).toBe(0)
  })

  test('refills at the configured rate', async () => {
    const limiter = rateLimiter({ perSecond: 20, burst: 1 })
    expect(limiter.take('a')).toBe(0)
    expect(limiter.take('a')).toBeGreaterThan(0)
    await Bun.sleep(60)
    expect(limiter.take('a')).toBe(0)
  })

  test('0 per second means no limit', () => {
    const limiter = rateLimiter({ perSecond: 0, burst: 1 })
    expect(Array.from({ length: 1000 }, () => limiter.take('a')).every((w) => w === 0)).toBe(true)
  })
})

describe('rate limiter memory', () => {
  test('a full limiter forgets idle buckets, not the budgets being spent (it cleared them all)', () => {
    let ms = 0
    const limiter = rateLimiter({ perSecond: 1, burst: 2, limit: 10, now: () => ms })
    expect([limiter.take('busy'), limiter.take('busy'), limiter.take('busy')]).toEqual([0, 0, 1])
    for (let i = 0; i < 9; i++) limiter.take(`idle-${i}`)
    ms += 1_000 // the idle ones are full again; busy has one token back, not two
    limiter.take('newcomer') // full: the idle buckets go, busy stays
    expect([limiter.take('busy'), limiter.take('busy')]).toEqual([0, 1])
  })

  test('with more users spending at once than it holds, it starts over rather than grow', () => {
    let ms = 0
    const limiter = rateLimiter({ perSecond: 1, burst: 1, limit: 10, now: () => ms })
    for (let i = 0; i < 10; i++) expect(limiter.take(`u${i}`)).toBe(0)
    expect(limiter.take('u0')).toBe(1)
    ms += 10
    limiter.take('u10') // full of buckets being spent: cleared
    expect(limiter.take('u0')).toBe(0)
  })
})
