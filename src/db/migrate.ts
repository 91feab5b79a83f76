import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Sql } from './client'
import { migrationsDir } from './statements'

// Arbitrary constant: the advisory lock that serialises migration runs across instances.
const MIGRATION_LOCK = 7_320_001

// Forward-only numbered migrations, applied in one transaction under a transaction-scoped advisory
// lock: instances that start together queue on the lock, and each finds the work already done.
export async function migrate(sql: Sql): Promise<string[]> {
  const dir = migrationsDir()
  const files = readdirSync(dir)
    .filter((f) => /^\d{6}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
  return sql.begin(async (tx) => {
    await tx.unsafe('select pg_advisory_xact_lock($1)', [MIGRATION_LOCK])
    await tx.unsafe(`create table if not exists schema_migrations (
      name text primary key,
      applied_at timestamptz not null default now()
    )`)
    const done = new Set((await tx.unsafe('select name from schema_migrations')).map((r) => r.name as string))
    const applied: string[] = []
    for (const file of files) {
      if (done.has(file)) continue
      await tx.unsafe(readFileSync(join(dir, file), 'utf8'))
      await tx.unsafe('insert into schema_migrations (name) values ($1)', [file])
      applied.push(file)
    }
    return applied
  })
}
