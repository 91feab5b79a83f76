import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Sql } from './client'
import { advisoryLocks } from './locks'
import { functionsDir, migrationsDir, statements } from './statements'

const q = statements('setup', [
  'lock_migrations',
  'create_migrations_table',
  'applied_migrations',
  'record_migration',
  'applied_functions',
  'record_function',
])

const sqlFiles = (dir: string, pattern: RegExp) => readdirSync(dir).filter((f) => pattern.test(f)).sort()

// Forward-only numbered migrations (schema changes), then the plpgsql functions of sql/functions/, each
// re-applied when its text changed since it was last applied (recorded by hash), so the live definition of
// a function is always its one file. All in one transaction under a transaction-scoped advisory lock:
// instances that start together queue on the lock, and each finds the work already done.
export async function migrate(sql: Sql): Promise<string[]> {
  const migrations = migrationsDir()
  const functions = functionsDir()
  return sql.begin(async (tx) => {
    await q.lock_migrations(tx, [advisoryLocks.migrations])
    await q.create_migrations_table(tx)
    const done = new Set((await q.applied_migrations<{ name: string }>(tx)).map((r) => r.name))
    const applied: string[] = []
    for (const file of sqlFiles(migrations, /^\d{6}_[a-z0-9_]+\.sql$/)) {
      if (done.has(file)) continue
      // A migration file holds several statements: run it as one simple-protocol script.
      await tx.unsafe(readFileSync(join(migrations, file), 'utf8'))
      await q.record_migration(tx, [file])
      applied.push(file)
    }
    const current = new Map((await q.applied_functions<{ name: string; sha256: string }>(tx)).map((r) => [r.name, r.sha256]))
    for (const file of sqlFiles(functions, /^[a-z0-9_]+\.sql$/)) {
      const text = readFileSync(join(functions, file), 'utf8')
      const sha256 = createHash('sha256').update(text).digest('hex')
      if (current.get(file) === sha256) continue
      await tx.unsafe(text)
      await q.record_function(tx, [file, sha256])
      applied.push(`functions/${file}`)
    }
    return applied
  }) as Promise<string[]>
}
