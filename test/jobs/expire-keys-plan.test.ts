import { afterAll, beforeAll, expect, test } from 'bun:test'
import { expireKeys } from '../../src/idempotency/idempotency'
import { createTestDatabase, type TestDatabase } from '../support/database'
import { executedPlan, scansOf } from '../support/plans'
import { describeWith, serviceUrl } from '../support/services'

// The job that expires Idempotency-Keys runs every 10 minutes on a table that grows with every keyed
// payment and charge. Planned as a connection plans it (generic) on a table never analyzed, a batch must
// read about the keys it deletes, not the whole table; and the job deletes exactly the keys past 25 hours.

const RECENT = 3000
const OLD = 30

describeWith(['DATABASE_URL'], 'expiring Idempotency-Keys reads the batch it deletes', () => {
  let db: TestDatabase

  beforeAll(async () => {
    db = await createTestDatabase(serviceUrl('DATABASE_URL')!, { max: 2 })
    await db.sql`alter table idempotency_keys set (autovacuum_enabled = false)` // never analyzed
    await db.sql`
      insert into idempotency_keys (user_id, idempotency_key, fingerprint, response_status, response_body, created_at)
      select 'user-' || g, 'key-' || g, 'f', 201, '{}', now() - case when g <= ${OLD} then interval '26 hours' else interval '1 hour' end
      from generate_series(1, ${RECENT + OLD}) g`
  })
  afterAll(async () => {
    await db?.drop()
  })

  test('a batch of 10 reads its 10 keys (and their addresses), not the table', async () => {
    const scans = scansOf(await executedPlan(db.sql, 'idempotency/expire_keys.sql', [10]), 'idempotency_keys')
    expect(scans.reduce((n, s) => n + s.rows + s.removed, 0)).toBeLessThanOrEqual(20)
  })

  test('each run deletes a batch of the keys past 25 hours, and nothing else', async () => {
    expect(await expireKeys(db.sql, 7)).toBe(7)
    expect(await expireKeys(db.sql, 100)).toBe(OLD - 7)
    expect(await expireKeys(db.sql, 100)).toBe(0)
    const [left] = await db.sql`select count(*)::int as n, min(created_at) > now() - interval '25 hours' as recent from idempotency_keys`
    expect(left).toEqual({ n: RECENT, recent: true })
  })
})
