import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Sql } from './client'
import { migrationsDir, statements } from './statements'

const q = statements('setup', ['lock_migrations', 'create_migrations_table', 'applied_migrations', 'record_migration'])

// Forward-only numbered migrations, applied in one transaction under a transaction-scoped advisory
// lock: instances that start together queue on the lock, and each finds the work already done.
export async function migrate(sql: Sql): Promise<string[]> {
  const dir = migrationsDir()
  const files = readdirSync(dir)
    .filter((f) => /^\d{6}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
  return sql.begin(async (tx) => {
    await q.lock_migrations(tx)
    await q.create_migrations_table(tx)
    const done = new Set((await q.applied_migrations<{ name: string }>(tx)).map((r) => r.name))
    const applied: string[] = []
    for (const file of files) {
      if (done.has(file)) continue
      // A migration file holds several statements: run it as one simple-protocol script.
      await tx.unsafe(readFileSync(join(dir, file), 'utf8'))
      await q.record_migration(tx, [file])
      applied.push(file)
    }
    return applied
  }) as Promise<string[]>
}
