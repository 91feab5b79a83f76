import postgres from 'postgres'

export type Sql = postgres.Sql<{}>
export type Tx = postgres.TransactionSql<{}>
export type Db = Sql | Tx

// Money and counters are bigint in SQL. postgres.js would hand them over as strings; this is the one
// place they become numbers, and a value outside the safe integer range is refused rather than rounded.
function parseInt8(value: string): number {
  const n = Number(value)
  if (!Number.isSafeInteger(n)) throw new RangeError(`int8 value ${value} is outside the safe integer range`)
  return n
}

export interface ConnectOptions {
  max: number
  applicationName?: string
  /**
   * Named prepared statements and pipelining (default true). False sends every statement unnamed
   * (parse, bind, execute each time) and one at a time per connection, which PgBouncer in transaction
   * mode before 1.21 needs: a name prepared on one server connection does not exist on the next one it
   * hands out, and a statement pipelined behind another is sent to a server connection the pooler has
   * already given back after the first one's end (its answer never comes: the client hangs).
   */
  prepare?: boolean
  /**
   * How long a query waits for a free connection when every pooled one is busy (ms); then it is
   * rejected unsent with CONNECTION_QUEUE_TIMEOUT, which the edge answers 503. Unset = wait as long as it takes.
   */
  queueTimeoutMs?: number
  /**
   * How long a statement declared a read (`reads`, src/db/statements.ts) run on this pool waits for its
   * answer (ms); then it is given up with 503 + Retry-After, and its answer, should it come, is dropped.
   * Not in a transaction, which is part of a write. Unset = wait as long as it takes.
   */
  readTimeoutMs?: number
}

// The read bound of each pool (ConnectOptions.readTimeoutMs). A transaction's Sql is not a pool: its
// reads are not bounded.
const readBounds = new WeakMap<object, number>()

export function readBoundOf(db: Db): number | undefined {
  return readBounds.get(db)
}

export function connect(url: string, options: ConnectOptions): Sql {
  const sql = postgres(url, {
    max: options.max,
    prepare: options.prepare ?? true,
    ...(options.prepare === false ? { max_pipeline: 0 } : {}),
    // Our patch of postgres.js (src/db/patches/) adds the bounded wait for a connection, in seconds;
    // its types do not know the option.
    ...({ queue_timeout: options.queueTimeoutMs === undefined ? undefined : options.queueTimeoutMs / 1000 } as {}),
    onnotice: () => {},
    connect_timeout: 5,
    // postgres.js waits up to 20 s (3^retries / 100) between reconnects after failures, counted over the whole
    // pool: after an outage of a few seconds it would stay away long after Postgres is back.
    backoff: (retries: number) => Math.min(0.05 * 2 ** retries, 1),
    idle_timeout: 60,
    connection: { application_name: options.applicationName ?? 'concert-waiting-room' },
    types: {
      int8: { to: 20, from: [20], serialize: (x: number) => String(x), parse: parseInt8 },
    },
  }) as unknown as Sql
  if (options.readTimeoutMs !== undefined) readBounds.set(sql, options.readTimeoutMs)
  return sql
}
