import { afterAll, beforeAll, expect, test } from 'bun:test'
import { catalogue } from '../../src/catalogue/catalogue'
import { postgresStore } from '../../src/waiting-room/postgres-store'
import { createTestDatabase, type TestDatabase } from '../support/database'
import { executedPlan, plansInside, scansOf, type PlanNode } from '../support/plans'
import { describeWith, serviceUrl } from '../support/services'

// A connection keeps the plan of a prepared statement for its life, and a plan made while a table had no
// statistics (a new database, the first minute of a sale, before autovacuum analyzes it) stays as it was
// made while the table grows. The statements that find one queue session by its seq must then still read
// it by its key: planned on an unanalyzed table, pg_extend (now pg_extend_many), pg_shrink and pg_finish once read every
// ACTIVE session of the concert through queue_sessions_active (6 ms each at 6,000 ACTIVE; the Postgres
// store's holds fell to a quarter of the Redis store's). Each statement is planned here as such a
// connection plans it (generic, no statistics) and its plan must read queue_sessions by the primary key.
// The lines of each admission tick likewise: one live session per line, not all of them. And the
// admission step expires its stale sessions by their keys alone, not ANDed with every live place.

const STATEMENTS = ['pg_check', 'pg_extend_many', 'pg_shrink', 'pg_finish'] as const
const ACTIVE = 3000
const limits = { maxActive: 1000, admitPerSecond: 1000, activeTtlSeconds: 60, waitingIdleSeconds: 60 }

describeWith(['DATABASE_URL'], 'waiting room on Postgres: statements read the rows they need, whatever the statistics', () => {
  let db: TestDatabase
  let session: { seq: string; concert_id: string; user_id: string }

  beforeAll(async () => {
    db = await createTestDatabase(serviceUrl('DATABASE_URL')!, { max: 2 })
    await db.sql`alter table queue_sessions set (autovacuum_enabled = false)` // as a new sale's: never analyzed
    const { concertId } = await catalogue(db.sql).createConcert({ title: 'Plans', schedules: [{ startsAt: '2027-01-01T19:00:00Z', seatCount: 10, price: 1000 }] })
    await postgresStore(db.sql).join(concertId, 'first', limits) // opens the line
    await db.sql`
      insert into queue_sessions (concert_id, user_id, status, admitted_at, active_until, ordinal)
      select ${concertId}::uuid, 'user-' || g, 'ACTIVE', now(), now() + interval '10 minutes', g
      from generate_series(2, ${ACTIVE}) g`
    ;[session] = await db.sql`select seq::text, concert_id, user_id from queue_sessions order by seq desc limit 1`
    const [stats] = await db.sql`select last_analyze, last_autoanalyze from pg_stat_user_tables where relname = 'queue_sessions'`
    expect(stats).toEqual({ last_analyze: null, last_autoanalyze: null })
  })
  afterAll(async () => {
    await db?.drop()
  })

  const args: Record<(typeof STATEMENTS)[number], () => unknown[]> = {
    pg_check: () => [session.seq, session.concert_id, session.user_id, 60, 600],
    pg_extend_many: () => [session.concert_id, `{${session.seq}}`, `{${session.user_id}}`, `{${Date.now() + 60_000}}`, 600],
    pg_shrink: () => [session.seq, session.concert_id, session.user_id, 0, 60],
    pg_finish: () => [session.seq, session.concert_id, session.user_id],
  }

  /** The scans of queue_sessions by statement `name` (sql/waiting-room), planned generic; with every index it read. */
  let indexReads: PlanNode[] = []
  async function scansOfStatement(name: string, values: unknown[]) {
    const nodes = await executedPlan(db.sql, `waiting-room/${name}.sql`, values)
    indexReads = nodes.filter((n) => n.index?.startsWith('queue_sessions_'))
    return scansOf(nodes, 'queue_sessions').map(({ index, rows, removed }) => ({ index, rows, removed }))
  }

  for (const name of STATEMENTS) {
    test(`${name}: a generic plan made with no statistics reads the session by its key`, async () => {
      // pg_extend_many reads it twice: to lock it (in seq order), then to write it.
      const reads = name === 'pg_extend_many' ? 2 : 1
      expect(await scansOfStatement(name, args[name]())).toEqual(Array(reads).fill({ index: 'queue_sessions_pkey', rows: 1, removed: 0 }))
    })
  }

  test("hold_seats on the Postgres store (the hold checks and extends its session): each read of a session is by its key", async () => {
    const [schedule] = await db.sql`select schedule_id from schedules where concert_id = ${session.concert_id}`
    const plans = await plansInside(db.url, `select * from hold_seats(array['${crypto.randomUUID()}']::uuid[], array['${session.user_id}'],
      array['${schedule!.schedule_id}']::uuid[], array[1], array[${session.seq}]::bigint[], 300, 4, false, array[${limits.activeTtlSeconds}], 1000)`)
    const hold = plans.find((p) => p.text.includes('join queue_sessions s on s.seq = w.seq'))
    expect(hold).toBeDefined()
    // Two reads: to lock the session (in seq order) and to extend it once the hold is made.
    expect(scansOf(hold!.nodes, 'queue_sessions').map(({ index, rows, removed }) => ({ index, rows, removed }))).toEqual(
      Array(2).fill({ index: 'queue_sessions_pkey', rows: 1, removed: 0 }),
    )
  })

  test('pg_lines (each admission tick): a line with people in it is found by its first live session, not by all of them', async () => {
    const scans = await scansOfStatement('pg_lines', [])
    expect(scans.length).toBe(1)
    expect(scans[0]!.rows).toBe(1)
  })

  test('pg_admit (each admission tick): the stale sessions of a ranked line are expired by their keys, not ANDed with every live place', async () => {
    const idle = limits.waitingIdleSeconds
    await db.sql`select queue_rank_line(${session.concert_id}::uuid, ${idle}::int)` // fresh for the next 10 s: the step reads what changed
    await scansOfStatement('pg_admit', [session.concert_id, limits.maxActive, limits.admitPerSecond, limits.activeTtlSeconds, idle, null])
    // The count of ACTIVE sessions reads them all (queue_sessions_active), by design; the sweep of the whole
    // line is not run (its plan may name the live places' index); nothing else reads that index.
    expect(indexReads.filter((r) => r.index === 'queue_sessions_one_live' && r.rows > 0)).toEqual([])
  })
})
