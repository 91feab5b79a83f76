// Every Postgres advisory lock the service takes, in one registry, so that no two uses share a key by
// accident. All are transaction-scoped (pg_advisory_xact_lock): they end with their transaction, never
// leak across pooled connections, and work behind transaction-pooling proxies.
export const advisoryLocks = {
  /** Instances that start together apply migrations and function files one at a time. */
  migrations: 7320001,
  /** Seed for the hash of (user, Idempotency-Key): "a request with this key is running". */
  idempotencyKeys: 7320002,
  /** Instances starting together on an empty database load the demo concerts once. */
  demoSeed: 7320003,
  /**
   * Class of the waiting-room line locks of the Postgres store (two-key form: class, hashtext(concert id)):
   * ended places take it shared; joins (sql/functions/queue_join_places.sql) and an admission step
   * (sql/functions/queue_place.sql) exclusively.
   */
  queueLines: 7320004,
  /** Class of the job locks (two-key form: class, job): one runner per tick across all instances. */
  jobs: 7320100,
} as const

/** The second key of each job's lock, under advisoryLocks.jobs. */
export const jobLocks = { admission: 1, lapseHolds: 2, expireIdempotencyKeys: 3 } as const
export type JobName = keyof typeof jobLocks
