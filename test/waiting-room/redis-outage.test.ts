import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { RedisClient } from 'bun'
import { startRedisRest, type RedisRest } from '../tools/redis-rest'
import { ServiceError } from '../../src/errors'
import { redisStore } from '../../src/waiting-room/redis-store'
import { restTransport } from '../../src/waiting-room/redis/rest'
import { tcpTransport } from '../../src/waiting-room/redis/tcp'
import type { LineLimits, WaitingRoomStore } from '../../src/waiting-room/store'
import { describeWith, serviceUrl } from '../support/services'
import { deleteKeys, testPrefix } from '../support/redis'
import { tcpProxy, type TcpProxy } from '../support/tcp-proxy'

// What the Redis store does when Redis goes away, hangs, or forgets its scripts: every call fails
// within 2 seconds with a 503 SERVICE_UNAVAILABLE ServiceError (never a hang, never a raw error), and the store recovers by
// itself once Redis answers again.

// Each test waits out a few 2-second deadlines; give it room whatever the runner's default is.
const SLOW = 20_000

const limits: LineLimits = { maxActive: 10, admitPerSecond: 10, activeTtlSeconds: 60, waitingIdleSeconds: 60 }

async function expectUnavailable(call: () => Promise<unknown>) {
  const started = performance.now()
  const error = await call().then(
    () => null,
    (e: unknown) => e,
  )
  const elapsed = performance.now() - started
  expect(error).toBeInstanceOf(ServiceError)
  expect(error).toMatchObject({ code: 'SERVICE_UNAVAILABLE', retryAfterSeconds: 2 })
  expect(elapsed).toBeLessThan(2000)
}

/** Every operation of the store, each expected to fail fast. */
async function expectEveryCallUnavailable(store: WaitingRoomStore) {
  const ticket = { concertId: crypto.randomUUID(), userId: 'u', seq: 1 }
  await expectUnavailable(() => store.join(ticket.concertId, 'u', limits))
  await expectUnavailable(() => store.poll(ticket, limits))
  await expectUnavailable(() => store.check(ticket, limits))
  await expectUnavailable(() => store.extend(ticket, Date.now() + 1000, limits))
  await expectUnavailable(() => store.finish(ticket))
  await expectUnavailable(() => store.admit(ticket.concertId, limits))
  await expectUnavailable(() => store.setSoldOut(ticket.concertId, true))
  await expectUnavailable(() => store.lines())
  await expectUnavailable(() => store.ping())
}

/** Retries `call` until it succeeds or `withinMs` passes; returns how long recovery took. */
async function recovers(call: () => Promise<unknown>, withinMs: number): Promise<number> {
  const started = performance.now()
  for (;;) {
    try {
      await call()
      return performance.now() - started
    } catch (error) {
      if (performance.now() - started > withinMs) throw error
      await Bun.sleep(100)
    }
  }
}

async function joinWorks(store: WaitingRoomStore) {
  const joined = await store.join(crypto.randomUUID(), 'u', limits)
  expect(joined).toMatchObject({ created: true, view: { status: 'WAITING', position: 1 } })
}

describeWith(['REDIS_URL'], 'Redis store outages', () => {
  const redisUrl = serviceUrl('REDIS_URL')!

  describe('over TCP', () => {
    let proxy: TcpProxy
    let store: WaitingRoomStore
    const prefix = testPrefix()
    beforeAll(() => {
      proxy = tcpProxy(redisUrl)
      store = redisStore(tcpTransport(proxy.url), { prefix })
    })
    afterAll(async () => {
      await store.close()
      proxy.stop()
      await deleteKeys(redisUrl, prefix)
    }, SLOW)

    test('while Redis is down every call fails within 2 s with SERVICE_UNAVAILABLE; it works again once Redis is back', async () => {
      await joinWorks(store)

      proxy.down()
      await expectEveryCallUnavailable(store)

      proxy.up()
      expect(await recovers(() => joinWorks(store), 2000)).toBeLessThan(2000)
    }, SLOW)

    test('while Redis hangs (connections open, no answers) every call fails within 2 s; it works again after', async () => {
      await joinWorks(store)

      proxy.freeze()
      await expectEveryCallUnavailable(store)

      proxy.up()
      expect(await recovers(() => joinWorks(store), 3000)).toBeLessThan(3000)
    }, SLOW)

    test('an instance started while Redis is down serves as soon as Redis comes up', async () => {
      proxy.down()
      const late = redisStore(tcpTransport(proxy.url), { prefix })
      await expectUnavailable(() => late.ping())

      proxy.up()
      await recovers(() => late.ping(), 2000)
      await joinWorks(late)
      await late.close()
    })
  })

  describe('over the Upstash REST API', () => {
    let proxy: TcpProxy
    let front: RedisRest
    let store: WaitingRoomStore
    const prefix = testPrefix()
    beforeAll(() => {
      proxy = tcpProxy(redisUrl)
      front = startRedisRest({ redisUrl: proxy.url, port: 0, token: 'outage-test-token' })
      store = redisStore(restTransport(front.url, front.token), { prefix })
    })
    afterAll(async () => {
      await store.close()
      await front.stop()
      proxy.stop()
      await deleteKeys(redisUrl, prefix)
    }, SLOW)

    test('while Redis behind the REST front is down every call fails within 2 s; it works again once Redis is back', async () => {
      await joinWorks(store)

      proxy.down()
      await expectEveryCallUnavailable(store)

      proxy.up()
      expect(await recovers(() => joinWorks(store), 2000)).toBeLessThan(2000)
    }, SLOW)

    test('while Redis behind the REST front hangs every call fails within 2 s; it works again after', async () => {
      await joinWorks(store)

      proxy.freeze()
      await expectEveryCallUnavailable(store)

      proxy.up()
      expect(await recovers(() => joinWorks(store), 3000)).toBeLessThan(3000)
    }, SLOW)

    test('while the REST front itself is down every call fails within 2 s; it works again once it is back', async () => {
      await joinWorks(store)
      const port = front.port

      await front.stop()
      await expectEveryCallUnavailable(store)

      front = startRedisRest({ redisUrl: proxy.url, port, token: 'outage-test-token' })
      expect(await recovers(() => joinWorks(store), 2000)).toBeLessThan(2000)
    }, SLOW)

    test('a wrong token is SERVICE_UNAVAILABLE, not a crash', async () => {
      const wrong = redisStore(restTransport(front.url, 'not-the-token'), { prefix })
      await expectUnavailable(() => wrong.join(crypto.randomUUID(), 'u', limits))
    })
  })

  test('after Redis forgets its scripts (SCRIPT FLUSH), both transports load them again by EVAL', async () => {
    const prefix = testPrefix()
    const front = startRedisRest({ redisUrl, port: 0, token: 'flush-test-token' })
    const tcp = redisStore(tcpTransport(redisUrl), { prefix })
    const rest = redisStore(restTransport(front.url, front.token), { prefix })
    const admin = new RedisClient(redisUrl)
    try {
      await joinWorks(tcp)
      await joinWorks(rest)

      await admin.send('SCRIPT', ['FLUSH'])

      await joinWorks(tcp)
      await admin.send('SCRIPT', ['FLUSH'])
      await joinWorks(rest)
    } finally {
      admin.close()
      await tcp.close()
      await rest.close()
      await front.stop()
      await deleteKeys(redisUrl, prefix)
    }
  }, SLOW)
})
