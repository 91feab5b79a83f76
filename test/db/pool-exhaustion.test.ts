import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import postgres from 'postgres'
import { connect } from '../../src/db/client'
import { userTokens } from '../../src/identity/user-tokens'
import { call, TEST_SECRET, testServer } from '../support/app'
import { createTestDatabase, type TestDatabase } from '../support/database'
import { keptLocks } from '../support/locks'
import { pgbouncerAvailable, startPgBouncer } from '../support/pgbouncer'
import { describeWith, requireServices, serviceUrl } from '../support/services'

// When every pooled connection is busy in a transaction, a request waits for one at most
// DATABASE_QUEUE_TIMEOUT_MS and is then answered 503 with Retry-After: never a hang, and the statement
// that waited never runs later.
describeWith(['DATABASE_URL'], 'a saturated connection pool', () => {
  let db: TestDatabase
  beforeAll(async () => {
    db = await createTestDatabase(serviceUrl('DATABASE_URL')!)
  })
  afterAll(async () => {
    await db?.drop()
  })

  test('a query that finds no free connection within the bound is rejected unsent, and never runs afterwards', async () => {
    const sql = connect(db.url, { max: 2, queueTimeoutMs: 200 })
    try {
      await sql.unsafe('create table pool_probe (n int)')
      const busy = [1, 2].map(() => sql.begin((tx) => tx.unsafe('select pg_sleep(0.8)')))

      const started = performance.now()
      const waited = await sql.unsafe('insert into pool_probe values (1)').then(
        () => 'ran',
        (error) => (error as { code?: string }).code,
      )
      const ms = performance.now() - started
      await Promise.all(busy)
      await Bun.sleep(100)

      expect(waited).toBe('CONNECTION_QUEUE_TIMEOUT')
      expect(ms).toBeGreaterThanOrEqual(190)
      expect(ms).toBeLessThan(700)
      expect((await sql.unsafe('select count(*)::int as n from pool_probe'))[0]!.n).toBe(0)
    } finally {
      await sql.end({ timeout: 1 })
    }
  })

  describe('over HTTP', () => {
    test('every connection held by a blocked transaction: other requests get 503 + Retry-After within the bound, then service resumes', async () => {
      const server = await testServer({ DATABASE_URL: db.url, DATABASE_POOL_SIZE: '1', DATABASE_QUEUE_TIMEOUT_MS: '300' })
      const blocker = postgres(db.url, { max: 1, onnotice: () => {} })
      const tokens = userTokens(TEST_SECRET)
      const [payer, reader] = await Promise.all([tokens.issue('pool-payer'), tokens.issue('pool-reader')])
      try {
        await call(server, '/v1/balance/charges', { token: payer, body: { amount: 100 } })
        // Setup: someone else holds the payer's balance row, so the payer's keyed charge (one transaction)
        // keeps the instance's only connection while it waits.
        const release = await keptLocks(blocker, (tx) => tx`select 1 from balances where user_id = 'pool-payer' for update`)
        const charge = call(server, '/v1/balance/charges', { token: payer, body: { amount: 100 }, headers: { 'idempotency-key': 'pool-1' } })
        await Bun.sleep(100)

        const started = performance.now()
        const refused = await call(server, '/v1/balance', { token: reader })
        const ms = performance.now() - started

        expect(refused.status).toBe(503)
        expect(refused.body.code).toBe('SERVICE_UNAVAILABLE')
        expect(refused.headers.get('retry-after')).toBeTruthy()
        expect(ms).toBeLessThan(1500)

        await release()
        expect((await charge).status).toBe(201)
        const after = await call(server, '/v1/balance', { token: reader })
        expect(after.status).toBe(200)
      } finally {
        await blocker.end({ timeout: 1 })
        await server.stop()
      }
    })
  })

  // Without pgbouncer installed this part is skipped, except under REQUIRE_SERVICES=1 (CI), where it must run.
  describe.if(pgbouncerAvailable() || requireServices)('through PgBouncer', () => {
    test('every server connection of the pooler held: a request is answered 503 + Retry-After after query_wait_timeout, not held', async () => {
      // Setup: a pooler with one server connection and a one-second wait, and a client that keeps it.
      const bouncer = await startPgBouncer(serviceUrl('DATABASE_URL')!, { default_pool_size: 1, query_wait_timeout: 1 })
      const server = await testServer({ DATABASE_URL: bouncer.urlFor(db.url), DATABASE_PREPARE: 'false', DATABASE_POOL_SIZE: '2' })
      const hog = postgres(bouncer.urlFor(db.url), { max: 1, prepare: false, onnotice: () => {} })
      const reader = await userTokens(TEST_SECRET).issue('bouncer-reader')
      try {
        // The hog's transaction keeps pgbouncer's only server connection.
        const release = await keptLocks(hog, (tx) => tx`select 1`)

        const started = performance.now()
        const refused = await call(server, '/v1/balance', { token: reader })
        const ms = performance.now() - started

        expect(refused.status).toBe(503)
        expect(refused.headers.get('retry-after')).toBeTruthy()
        expect(ms).toBeLessThan(3000)

        await release()
        let after = 0
        for (let i = 0; i < 20 && after !== 200; i++) {
          after = (await call(server, '/v1/balance', { token: reader })).status
          if (after !== 200) await Bun.sleep(100)
        }
        expect(after).toBe(200)
      } finally {
        await hog.end({ timeout: 1 })
        await server.stop()
        await bouncer.stop()
      }
    }, 30_000)
  })
})
