import { afterAll, beforeAll, expect, test } from 'bun:test'
import { connect } from '../../src/db/client'
import { createTestDatabase, type TestDatabase } from '../support/database'
import { describeWith, serviceUrl } from '../support/services'

// DATABASE_PREPARE=false (for PgBouncer in transaction mode before 1.21): statements go unnamed and one
// at a time per connection, and transactions still work on such connections.
describeWith(['DATABASE_URL'], 'the database client without prepared statements', () => {
  let db: TestDatabase
  beforeAll(async () => {
    db = await createTestDatabase(serviceUrl('DATABASE_URL')!, { migrate: false })
  })
  afterAll(async () => {
    await db?.drop()
  })

  test('no named statement is left on the server connection', async () => {
    const sql = connect(db.url, { max: 1, prepare: false })
    try {
      await sql.unsafe('select $1::int as n', [1], { prepare: true })
      const [row] = await sql.unsafe('select count(*)::int as n from pg_prepared_statements')
      expect(row!.n).toBe(0)
    } finally {
      await sql.end({ timeout: 1 })
    }
  })

  test('a transaction that waited behind other statements still gets its own connection', async () => {
    const sql = connect(db.url, { max: 1, prepare: false })
    try {
      const results = await Promise.all([
        sql.unsafe('select pg_sleep(0.05)'),
        sql.begin(async (tx) => (await tx.unsafe('select 2 as n'))[0]!.n),
        sql.unsafe('select 3 as n'),
        sql.begin(async (tx) => (await tx.unsafe('select 4 as n'))[0]!.n),
      ])
      expect([results[1], results[3]]).toEqual([2, 4])
    } finally {
      await sql.end({ timeout: 1 })
    }
  })
})
