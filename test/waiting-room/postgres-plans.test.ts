import { afterAll, beforeAll, expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { catalogue } from '../../src/catalogue/catalogue'
import { postgresStore } from '../../src/waiting-room/postgres-store'
import { createTestDatabase, type TestDatabase } from '../support/database'
import { describeWith, serviceUrl } from '../support/services'

// A connection keeps the plan of a prepared statement for its life, and a plan made while a table had no
// statistics (a new database, the first minute of a sale, before autovacuum analyzes it) stays as it was
// made while the table grows. The statements that find one queue session by its seq must then still read
// it by its key: planned on an unanalyzed table, pg_extend, pg_shrink and pg_finish once read every
// ACTIVE session of the concert through queue_sessions_active (6 ms each at 6,000 ACTIVE; the Postgres
// store's holds fell to a quarter of the Redis store's). Each statement is planned here as such a
// connection plans it (generic, no statistics) and its plan must read queue_sessions by the primary key.
// The lines of each admission tick likewise: one live session per line, not all of them. And the
// admission step expires its stale sessions by their keys alone, not ANDed with every live place.

const STATEMENTS = ['pg_check', 'pg_extend', 'pg_shrink', 'pg_finish'] as const
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
    pg_extend: () => [session.seq, session.concert_id, session.user_id, Date.now() + 60_000, 600],
    pg_shrink: () => [session.seq, session.concert_id, session.user_id, 0, 60],
    pg_finish: () => [session.seq, session.concert_id, session.user_id],
  }

  type Scan = { index: string | undefined; rows: number; removed: number }
  /** Index scans (plain or bitmap) of an index of queue_sessions, with the entries they read. */
  const indexReads: { index: string; rows: number }[] = []
  /** The scans of queue_sessions in the executed plan of statement `name`, planned generic; its writes are undone. */
  async function scansOf(name: string, values: unknown[]): Promise<Scan[]> {
    const text = readFileSync(join(import.meta.dir, '../../sql/waiting-room', `${name}.sql`), 'utf8')
    const literal = values.map((v) => (v === null ? 'null' : typeof v === 'number' ? String(v) : `'${v}'`)).join(', ')
    indexReads.length = 0
    return db.sql
      .begin(async (tx) => {
        await tx.unsafe('set local plan_cache_mode = force_generic_plan')
        await tx.unsafe(`prepare planned as ${text}`)
        const [row] = await tx.unsafe(`explain (analyze, format json) execute planned${literal ? `(${literal})` : ''}`)
        await tx.unsafe('deallocate planned') // a prepared statement outlives its transaction
        const found: Scan[] = []
        const walk = (node: any) => {
          if (node['Relation Name'] === 'queue_sessions' && node['Node Type'].endsWith('Scan')) {
            found.push({ index: node['Index Name'], rows: node['Actual Rows'] * node['Actual Loops'], removed: node['Rows Removed by Filter'] ?? 0 })
          }
          if (String(node['Index Name'] ?? '').startsWith('queue_sessions_')) {
            indexReads.push({ index: node['Index Name'], rows: node['Actual Rows'] * node['Actual Loops'] })
          }
          for (const child of node.Plans ?? []) walk(child)
        }
        walk(row!['QUERY PLAN'][0].Plan)
        throw Object.assign(new Error('rollback'), { found })
      })
      .catch((e) => (e as { found?: Scan[] }).found ?? Promise.reject(e))
  }

  for (const name of STATEMENTS) {
    test(`${name}: a generic plan made with no statistics reads the session by its key`, async () => {
      expect(await scansOf(name, args[name]())).toEqual([{ index: 'queue_sessions_pkey', rows: 1, removed: 0 }])
    })
  }

  test('pg_lines (each admission tick): a line with people in it is found by its first live session, not by all of them', async () => {
    const scans = await scansOf('pg_lines', [])
    expect(scans.length).toBe(1)
    expect(scans[0]!.rows).toBe(1)
  })

  test('pg_admit (each admission tick): the stale sessions of a ranked line are expired by their keys, not ANDed with every live place', async () => {
    const idle = limits.waitingIdleSeconds
    await db.sql`select queue_rank_line(${session.concert_id}::uuid, ${idle}::int)` // fresh for the next 10 s: the step reads what changed
    await scansOf('pg_admit', [session.concert_id, limits.maxActive, limits.admitPerSecond, limits.activeTtlSeconds, idle, null])
    // The count of ACTIVE sessions reads them all (queue_sessions_active), by design; the sweep of the whole
    // line is not run (its plan may name the live places' index); nothing else reads that index.
    expect(indexReads.filter((r) => r.index === 'queue_sessions_one_live' && r.rows > 0)).toEqual([])
  })
})
