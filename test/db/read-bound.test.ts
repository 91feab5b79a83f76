import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { connect } from '../../src/db/client'
import { reads, statements } from '../../src/db/statements'
import { ServiceError } from '../../src/errors'
import { userTokens } from '../../src/identity/user-tokens'
import { call, TEST_SECRET, testServer } from '../support/app'
import { createTestDatabase, type TestDatabase } from '../support/database'
import { createConcert, hold, pay, shopper } from '../support/scenario'
import { tcpProxy, type TcpProxy } from '../support/tcp-proxy'
import { describeWith, serviceUrl } from '../support/services'

// A hung Postgres (connections open, nothing answers): a statement that only reads gives up after
// DATABASE_READ_TIMEOUT_MS and the request is answered 503 + Retry-After; a write waits for Postgres,
// since one given up in flight may still commit (README, "When things fail").
describeWith(['DATABASE_URL'], 'reads bounded while Postgres hangs', () => {
  let db: TestDatabase
  let proxy: TcpProxy
  beforeAll(async () => {
    db = await createTestDatabase(serviceUrl('DATABASE_URL')!)
    proxy = tcpProxy(db.url)
  })
  afterAll(async () => {
    proxy?.stop()
    await db?.drop()
  })

  const read = reads('balance', ['get_balance'])
  // A statement not declared a read, as every write is.
  const other = statements('setup', ['ping'])

  test('a pool with a read bound gives a read up with 503 when Postgres does not answer; a pool without one, and a write, wait', async () => {
    const bounded = connect(proxy.url, { max: 2, readTimeoutMs: 300 })
    const unbounded = connect(proxy.url, { max: 2 })
    try {
      // Both pools connected before the hang.
      await Promise.all([read.get_balance(bounded, ['nobody']), read.get_balance(unbounded, ['nobody'])])
      proxy.freeze()
      const started = performance.now()
      const outcomes = {
        bounded: read.get_balance(bounded, ['nobody']).then(() => 'answered', (e) => e),
        unbounded: read.get_balance(unbounded, ['nobody']).then(() => 'answered', (e) => e),
        write: other.ping(bounded).then(() => 'answered', (e) => e),
      }
      const gaveUp = await outcomes.bounded
      const ms = performance.now() - started
      expect(gaveUp).toBeInstanceOf(ServiceError)
      expect((gaveUp as ServiceError).code).toBe('SERVICE_UNAVAILABLE')
      expect((gaveUp as ServiceError).retryAfterSeconds).toBe(2)
      expect(ms).toBeGreaterThanOrEqual(290)
      expect(ms).toBeLessThan(1000)

      // A read in a transaction is part of a write: not bounded.
      const inTransaction = bounded.begin((tx) => read.get_balance(tx, ['nobody'])).then(() => 'answered', (e) => e)
      const settled = await Promise.race([Promise.all([outcomes.unbounded, outcomes.write, inTransaction]), Bun.sleep(700).then(() => 'waiting')])
      expect(settled).toBe('waiting')

      proxy.up()
      expect(await outcomes.unbounded).toBe('answered')
      expect(await outcomes.write).toBe('answered')
      expect(await inTransaction).toBe('answered')
    } finally {
      proxy.up()
      await Promise.all([bounded.end({ timeout: 1 }), unbounded.end({ timeout: 1 })])
    }
  })

  describe('over HTTP', () => {
    test('reads answer 503 + Retry-After within DATABASE_READ_TIMEOUT_MS; a charge waits and commits once; all answers again after', async () => {
      const server = await testServer({ DATABASE_URL: proxy.url, DATABASE_READ_TIMEOUT_MS: '400' })
      const token = await userTokens(TEST_SECRET).issue('hang-reader')
      try {
        expect((await call(server, '/v1/balance/charges', { token, body: { amount: 100 } })).status).toBe(201)
        proxy.freeze()

        const charge = call(server, '/v1/balance/charges', { token, body: { amount: 50 }, headers: { 'idempotency-key': 'hang-1' } })
        for (const path of ['/v1/balance', '/v1/balance/history', '/v1/reservations']) {
          const started = performance.now()
          const refused = await call(server, path, { token })
          const ms = performance.now() - started
          expect({ path, status: refused.status, code: refused.body.code }).toEqual({ path, status: 503, code: 'SERVICE_UNAVAILABLE' })
          expect(refused.headers.get('content-type')).toContain('application/problem+json')
          expect(refused.headers.get('retry-after')).toBe('2')
          expect(ms).toBeGreaterThanOrEqual(390)
          expect(ms).toBeLessThan(1500)
        }
        // The write was not given up: it is still waiting for Postgres.
        expect(await Promise.race([charge.then((r) => r.status), Bun.sleep(300).then(() => 'waiting')])).toBe('waiting')

        proxy.up()
        expect((await charge).status).toBe(201)
        const after = await call(server, '/v1/balance', { token })
        expect(after.status).toBe(200)
        expect(after.body.balance).toBe(150)
      } finally {
        proxy.up()
        await server.stop()
      }
    }, 30_000)

    // Answered by the Redis store, the retry's queue guard finds the session over and reads the
    // reservation (a read, given up); the stored answer is a read of the same silent database.
    test.if(serviceUrl('REDIS_URL') !== undefined)('a payment retried under its key while Postgres hangs: 503 after one bound, not one per read; replayed after', async () => {
      const server = await testServer({ DATABASE_URL: proxy.url, REDIS_URL: serviceUrl('REDIS_URL'), DATABASE_READ_TIMEOUT_MS: '400' })
      try {
        const { concertId, scheduleIds } = await createConcert(server, { seats: 1, price: 100 })
        const buyer = await shopper(server, 'hang-payer', concertId, 100)
        const held = await hold(server, buyer, scheduleIds[0]!, 1)
        expect((await pay(server, buyer, held.body.reservationId, 'hang-pay-1')).status).toBe(201)
        proxy.freeze()
        const started = performance.now()
        const retried = await pay(server, buyer, held.body.reservationId, 'hang-pay-1')
        const ms = performance.now() - started
        expect([retried.status, retried.body.code, retried.headers.get('retry-after')]).toEqual([503, 'SERVICE_UNAVAILABLE', '2'])
        expect(ms).toBeGreaterThanOrEqual(390)
        expect(ms).toBeLessThan(790)
        proxy.up()
        const replayed = await pay(server, buyer, held.body.reservationId, 'hang-pay-1')
        expect([replayed.status, replayed.headers.get('idempotent-replayed')]).toEqual([201, 'true'])
      } finally {
        proxy.up()
        await server.stop()
      }
    }, 30_000)
  })
})
