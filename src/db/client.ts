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
}

export function connect(url: string, options: ConnectOptions): Sql {
  return postgres(url, {
    max: options.max,
    prepare: true,
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
}
