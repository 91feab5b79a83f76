import { firstLine, StartupError, type Config } from '../config'
import { within } from '../deadline'
import { connect, type Sql } from './client'
import type { EmbeddedDatabase } from './embedded'
import { jobLocks } from './locks'
import { migrate } from './migrate'

export interface Database {
  sql: Sql
  /** 'embedded': PGlite in DATA_DIR (no DATABASE_URL); 'server': a Postgres server. */
  mode: 'embedded' | 'server'
  /**
   * The connections the jobs' elections keep (src/jobs/jobs.ts), one per job at most, apart from the
   * requests' pool; null in embedded mode, where there is nobody to elect.
   */
  elections: Sql | null
  /** Migrations and function files this start applied. */
  applied: string[]
  close(): Promise<void>
}

/** The database of this instance, connected and migrated: the Postgres server, or an embedded PGlite. */
export async function openDatabase(config: Config): Promise<Database> {
  let embedded: EmbeddedDatabase | null = null
  let url = config.databaseUrl
  if (url === null) {
    // Loaded only in embedded mode: PGlite is a large WebAssembly module a server deployment never needs.
    const { startEmbeddedDatabase } = await import('./embedded')
    embedded = await startEmbeddedDatabase(config.dataDir)
    url = embedded.url
  }
  const sql: Sql = connect(url, {
    // PGlite serves one connection at a time.
    max: embedded ? 1 : config.dbPoolSize,
    prepare: config.dbPrepare,
    // Embedded mode has one connection by design and queues on it, and its database cannot hang apart
    // from the process; a server pool must not hang.
    queueTimeoutMs: embedded ? undefined : config.dbQueueTimeoutMs,
    readTimeoutMs: embedded ? undefined : config.dbReadTimeoutMs,
  })
  if (!embedded) await reach(sql, url)
  const applied = await migrate(sql)
  // A job's election is a transaction kept open while its run lasts, its work done on the pool. Kept on
  // the pool too, it held a connection per job running: with DATABASE_POOL_SIZE=1 no job could ever run
  // (its work waited for the connection its own election held), and with a few more the jobs' elections
  // left the requests too few (helper-55).
  const elections = embedded
    ? null
    : connect(url, { max: Object.keys(jobLocks).length, prepare: config.dbPrepare, applicationName: 'concert-waiting-room jobs' })
  return {
    sql,
    mode: embedded ? 'embedded' : 'server',
    elections,
    applied,
    async close() {
      await Promise.all([sql.end({ timeout: 5 }), elections?.end({ timeout: 5 })])
      await embedded?.close()
    },
  }
}

// DATABASE_URL as it may be printed: no password, no query (which may carry one).
function shown(url: string): string {
  const u = new URL(url)
  return `${u.protocol}//${u.username ? `${u.username}@` : ''}${u.host}${u.pathname}`
}

// The first statement tells a database that cannot be reached, or refuses us, apart from the failures of a
// running service: the start then stops with one line naming DATABASE_URL and the cause, not a driver stack.
// No retry: an orchestrator restarts the process, and a wrong URL never fixes itself. A host that never
// answers (a dropped SYN) would otherwise be tried again and again without a word: the first statement has
// REACH_TIMEOUT_MS.
const REACH_TIMEOUT_MS = 10_000

async function reach(sql: Sql, url: string) {
  try {
    await within(sql`select 1`, REACH_TIMEOUT_MS, () => new Error(`no answer within ${REACH_TIMEOUT_MS / 1000} s`))
  } catch (error) {
    await sql.end({ timeout: 1 }).catch(() => {})
    throw new StartupError(`DATABASE_URL ${shown(url)} cannot be connected to (${firstLine(error)})`)
  }
}
