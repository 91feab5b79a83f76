import { afterAll, beforeAll, expect, test } from 'bun:test'
import { catalogue } from '../../src/catalogue/catalogue'
import { postgresStore } from '../../src/waiting-room/postgres-store'
import { createTestDatabase, type TestDatabase } from '../support/database'
import { executedPlan, scansOf, type PlanNode } from '../support/plans'
import { describeWith, serviceUrl } from '../support/services'

// The other way a first-minute plan goes wrong (postgres-plans.test.ts covers a table never analyzed): the
// table was analyzed while it was small - a few sessions, all of them live, no pre-queue - and grew. A
// connection keeps the plan it made from those statistics. Each statement of an admission tick is planned
// here as such a connection plans it (generic) and must still read only the rows it needs.

const SESSIONS = 3000
const limits = { maxActive: 1000, admitPerSecond: 1000, activeTtlSeconds: 60, waitingIdleSeconds: 60 }

describeWith(['DATABASE_URL'], 'waiting room on Postgres: statements read the rows they need after queue_sessions was analyzed small', () => {
  let db: TestDatabase
  let busy: string // a drawn line with thousands of sessions
  let empty: string // an open line with nobody live in it

  beforeAll(async () => {
    db = await createTestDatabase(serviceUrl('DATABASE_URL')!, { max: 2 })
    await db.sql`alter table queue_sessions set (autovacuum_enabled = false)`
    const concert = () =>
      catalogue(db.sql).createConcert({ title: 'Plans', schedules: [{ startsAt: '2027-01-01T19:00:00Z', seatCount: 10, price: 1000 }] })
    busy = (await concert()).concertId
    empty = (await concert()).concertId
    const store = postgresStore(db.sql)
    for (let i = 0; i < 10; i++) await store.join(busy, `early-${i}`, limits)
    await db.sql`analyze queue_sessions` // ten sessions, all live, none in a pre-queue
    await store.join(empty, 'gone', limits)
    await db.sql`update queue_sessions set status = 'EXPIRED', ended_at = now() where concert_id = ${empty}::uuid`
    await db.sql`
      insert into queue_sessions (concert_id, user_id, status, admitted_at, active_until, ordinal)
      select ${busy}::uuid, 'user-' || g, 'ACTIVE', now(), now() + interval '10 minutes', 100 + g
      from generate_series(1, ${SESSIONS}) g`
    await db.sql`update queue_lines set drawn = true where concert_id = ${busy}::uuid` // the opening has passed
    const [stats] = await db.sql`select n_live_tup > 0 as counted, last_autoanalyze from pg_stat_user_tables where relname = 'queue_sessions'`
    expect(stats).toEqual({ counted: true, last_autoanalyze: null })
  })
  afterAll(async () => {
    await db?.drop()
  })

  /** The scans of queue_sessions by statement `name` (sql/waiting-room), planned generic. */
  const scansOfStatement = async (name: string, values: unknown[]) => scansOf(await executedPlan(db.sql, `waiting-room/${name}.sql`, values), 'queue_sessions')
  const read = (scans: PlanNode[]) => scans.reduce((n, s) => n + s.rows + s.removed, 0)

  test('pg_lines (each admission tick): a line with nobody live is answered by its index, not by a scan of every session', async () => {
    const scans = await scansOfStatement('pg_lines', [])
    // At most a row per line (the busy line's first live session; EXPLAIN rounds rows per loop).
    expect(read(scans)).toBeLessThanOrEqual(2)
  })

  test('pg_draw (each tick of a line with an opening time): a line drawn already reads no session', async () => {
    const scans = await scansOfStatement('pg_draw', [busy, Date.now() - 60_000, '\\x00'])
    expect(read(scans)).toBe(0)
  })
})
