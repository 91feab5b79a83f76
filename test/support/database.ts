import postgres from 'postgres'
import { connect, type Sql } from '../../src/db/client'
import { migrate } from '../../src/db/migrate'

// Each test file gets its own freshly migrated database on the server named by DATABASE_URL, so
// files can run in parallel and never see each other's rows.
export interface TestDatabase {
  url: string
  sql: Sql
  drop(): Promise<void>
}

export async function createTestDatabase(serverUrl: string, options: { migrate?: boolean; max?: number } = {}): Promise<TestDatabase> {
  const name = `cwr_test_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} })
  await admin.unsafe(`create database ${name}`)
  await admin.end()
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  const sql = connect(url.toString(), { max: options.max ?? 10 })
  if (options.migrate ?? true) await migrate(sql)
  return {
    url: url.toString(),
    sql,
    async drop() {
      await sql.end({ timeout: 1 })
      const admin = postgres(serverUrl, { max: 1, onnotice: () => {} })
      await admin.unsafe(`drop database if exists ${name} with (force)`)
      await admin.end()
    },
  }
}
