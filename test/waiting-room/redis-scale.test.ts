import { expect, test } from 'bun:test'
import { measureWaitingUserMemory } from '../tools/bench/redis-memory'
import { redisStore } from '../../src/waiting-room/redis-store'
import { tcpTransport } from '../../src/waiting-room/redis/tcp'
import type { LineLimits } from '../../src/waiting-room/store'
import { describeWith, serviceUrl } from '../support/services'
import { deleteKeys, testPrefix } from '../support/redis'

// A line of a million waiting users must fit in Redis and stay cheap to poll and to admit from.
// `bun test/tools/bench/redis-memory.ts` measures 100,000 users; this test a smaller line.

describeWith(['REDIS_URL'], 'Redis store at scale', () => {
  const redisUrl = serviceUrl('REDIS_URL')!

  test('a waiting user costs about 200 bytes of Redis memory, and a poll at the back of the line stays fast', async () => {
    const report = await measureWaitingUserMemory(redisUrl, 20_000, (i) => `user-${i}`)

    console.log(
      `Redis store: ${report.bytesPerUser.toFixed(0)} bytes per waiting user, ` +
        `poll at the back of a ${report.users}-user line ${report.pollMicroseconds.toFixed(0)} us`,
    )
    expect(report.bytesPerUser).toBeLessThan(250)
    expect(report.pollMicroseconds).toBeLessThan(5_000)
  }, 60_000)

  test('an admission step drops a bounded number of idle waiters; the next steps drop the rest', async () => {
    const prefix = testPrefix()
    const store = redisStore(tcpTransport(redisUrl), { prefix })
    const limits: LineLimits = { maxActive: 10, admitPerSecond: 10, activeTtlSeconds: 60, waitingIdleSeconds: 1 }
    const concertId = crypto.randomUUID()
    try {
      const idle = 5_000
      await Promise.all(Array.from({ length: idle }, (_, i) => store.join(concertId, `idle-${i}`, limits)))
      await Bun.sleep(1_300)

      const first = await store.admit(concertId, limits)
      expect(first.expired).toBeGreaterThan(0)
      expect(first.expired).toBeLessThan(idle)
      expect(first.waiting).toBe(0)

      let expired = first.expired
      for (let step = 0; step < 10 && expired < idle; step++) expired += (await store.admit(concertId, limits)).expired
      expect(expired).toBe(idle)
      expect(await store.lines()).not.toContain(concertId)
    } finally {
      await store.close()
      await deleteKeys(redisUrl, prefix)
    }
  }, 60_000)
})
