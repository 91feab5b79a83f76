import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { within } from '../deadline'
import { ServiceError } from '../errors'
import { readBoundOf, type Db } from './client'

// Every statement lives in its own file under sql/<area>/<name>.sql, is read once when its module is
// first imported, and runs as a prepared statement (postgres.js prepares each distinct text once per
// connection).
const sqlRoot = join(import.meta.dir, '..', '..', 'sql')

export type Statement = (<T = Record<string, unknown>>(db: Db, params?: unknown[]) => Promise<T[]>) & {
  /**
   * The same statement answering each row as its values' bytes, in column order, as Postgres sent them
   * (null for NULL): for a big text value the app passes through (a seat map), no decoding into a string
   * and encoding back.
   */
  raw(db: Db, params?: unknown[]): Promise<(Uint8Array | null)[][]>
}

export function statements<const Names extends readonly string[]>(
  area: string,
  names: Names,
): Record<Names[number], Statement> {
  return prepared(area, names, (_, query) => query)
}

/**
 * Statements that only read. Run on a pool with a read bound (src/db/client.ts), each waits for its
 * answer at most that long and is then given up with 503 + Retry-After: a hung Postgres (connections
 * open, nothing answers) cannot keep a read waiting. A write is never given up in flight, since it may
 * still commit and a client told 503 would send it again. What was sent is not cancelled either: a
 * CancelRequest names a backend, not a statement, and could stop the next statement pipelined behind
 * this one; the read runs when Postgres answers and its rows are dropped.
 */
export function reads<const Names extends readonly string[]>(area: string, names: Names): Record<Names[number], Statement> {
  return prepared(area, names, withinReadBound)
}

function prepared<const Names extends readonly string[]>(
  area: string,
  names: Names,
  bound: <T>(db: Db, query: Promise<T>) => Promise<T>,
): Record<Names[number], Statement> {
  const out = {} as Record<string, Statement>
  for (const name of names) {
    const text = readFileSync(join(sqlRoot, area, `${name}.sql`), 'utf8')
    const run = <T>(db: Db, params: unknown[] = []) => bound(db, db.unsafe(text, params as never[], { prepare: true }) as unknown as Promise<T[]>)
    out[name] = Object.assign(run, {
      raw: (db: Db, params: unknown[] = []) =>
        bound(db, db.unsafe(text, params as never[], { prepare: true }).raw() as unknown as Promise<(Uint8Array | null)[][]>),
    })
  }
  return out as Record<Names[number], Statement>
}

/** A read given up at its pool's bound: the database did not answer it (503 + Retry-After). */
export class ReadGivenUp extends ServiceError {
  constructor(ms: number) {
    super('SERVICE_UNAVAILABLE', `The database did not answer within ${ms} ms; retry shortly`, { retryAfterSeconds: 2 })
  }
}

function withinReadBound<T>(db: Db, query: Promise<T>): Promise<T> {
  const ms = readBoundOf(db)
  return ms === undefined ? query : within(query, ms, () => new ReadGivenUp(ms))
}

export function migrationsDir(): string {
  return join(sqlRoot, 'migrations')
}

export function functionsDir(): string {
  return join(sqlRoot, 'functions')
}

/**
 * The one row a statement always answers. Seen under faults: a connection closed under a query can leave
 * postgres.js resolving it with no rows. That is the database failing, a 503 with Retry-After, not a 500.
 */
export function theRow<T>(rows: T[], statement: string): T {
  const row = rows[0]
  if (row === undefined) {
    throw new ServiceError('SERVICE_UNAVAILABLE', `The database gave no answer to ${statement}; retry shortly`, { retryAfterSeconds: 2 })
  }
  return row
}

/**
 * Whether an error leaves a batch's calls undecided together (src/db/group-commit.ts): anything but a
 * statement Postgres refused. A refused statement committed nothing, so its calls are each run again
 * alone and an error stays with the call it concerns; when the connection broke it is unknown whether
 * the batch committed, and every call of it fails, as a single one would.
 */
export function notRefusedByPostgres(error: unknown): boolean {
  return (error as { name?: unknown })?.name !== 'PostgresError'
}
