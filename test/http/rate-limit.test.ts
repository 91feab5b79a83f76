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
