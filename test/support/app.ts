import { afterAll, beforeAll, describe } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../../src/config'
import { startServer, type Server } from '../../src/server'
import { silentLog } from '../../src/log'
import { createTestDatabase, type TestDatabase } from './database'
import { describeWith, serviceUrl } from './services'

export const TEST_SECRET = 'test-secret-0123456789abcdef'
export const ADMIN_KEY = 'test-admin-key'

/**
 * An app built in-process against `databaseUrl` (or embedded in `dataDir`), driven through
 * app.handle() without a port. Jobs do not run: tests call room.tick() and holds.lapse() themselves.
 */
export async function testServer(env: Record<string, string | undefined>): Promise<Server> {
  const config = loadConfig({
    AUTH_JWT_SECRET: TEST_SECRET,
    ADMIN_API_KEY: ADMIN_KEY,
    AUTH_DEV_TOKENS: 'true',
    SEED_DEMO: 'false',
    // Suites drive one user hard on purpose; the limiter has its own tests.
    RATE_LIMIT_PER_SECOND: '0',
    // Suites read seat maps right after changing them; the shared window has its own test.
    CATALOGUE_CACHE_MS: '0',
    ...env,
  })
  return startServer(config, { log: silentLog, runJobs: false, listen: false })
}

export interface Call {
  method?: string
  token?: string
  queueToken?: string
  body?: unknown
  rawBody?: string | Uint8Array<ArrayBuffer>
  headers?: Record<string, string>
}

export interface Reply<T = any> {
  status: number
  headers: Headers
  body: T
  text: string
}

/** One HTTP request through app.handle(). */
export async function call<T = any>(server: Server, path: string, c: Call = {}): Promise<Reply<T>> {
  const headers: Record<string, string> = { ...c.headers }
  if (c.token) headers.authorization = `Bearer ${c.token}`
  if (c.queueToken) headers['x-queue-token'] = c.queueToken
  let body: string | Uint8Array<ArrayBuffer> | undefined = c.rawBody
  if (c.body !== undefined) body = JSON.stringify(c.body)
  if (body !== undefined && !headers['content-type']) headers['content-type'] = 'application/json'
  // As a real client does; app.handle() does not compute it.
  if (body !== undefined) headers['content-length'] = String(typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength)
  const response = await server.app.handle(
    new Request(`http://localhost${path}`, { method: c.method ?? (body !== undefined ? 'POST' : 'GET'), headers, body }),
  )
  const text = await response.text()
  let parsed: unknown = text
  try {
    parsed = JSON.parse(text)
  } catch {}
  return { status: response.status, headers: response.headers, body: parsed as T, text }
}


/** Inside a describeWith(['DATABASE_URL'], ...): a fresh database and an app on it for the suite. */
export function onFreshDatabase(env: Record<string, string> = {}) {
  const ctx = {} as { db: TestDatabase; server: Server }
  beforeAll(async () => {
    ctx.db = await createTestDatabase(serviceUrl('DATABASE_URL')!)
    ctx.server = await testServer({ DATABASE_URL: ctx.db.url, ...env })
  }, 30_000)
  afterAll(async () => {
    await ctx.server?.stop()
    await ctx.db?.drop()
  }, 30_000)
  return ctx
}

export type DatabaseKind = 'postgres' | 'embedded'
export interface SuiteContext {
  kind: DatabaseKind
  /** Direct SQL on the suite's database (in embedded mode: the app's own single connection). */
  db: { sql: Server['sql'] }
  server: Server
}

/**
 * Defines the suite twice: on a fresh database of the Postgres server (DATABASE_URL) and on a fresh
 * embedded PGlite, so every statement is proven on both. `body` gets the kind, for the few tests that
 * need several connections at once (PGlite serves one).
 */
export function onEachDatabase(title: string, env: Record<string, string>, body: (ctx: SuiteContext, kind: DatabaseKind) => void) {
  describeWith(['DATABASE_URL'], `${title} [postgres]`, () => {
    const ctx = onFreshDatabase(env) as unknown as SuiteContext
    ctx.kind = 'postgres'
    body(ctx, 'postgres')
  })
  describe(`${title} [embedded]`, () => {
    const ctx = { kind: 'embedded' } as SuiteContext
    let dataDir = ''
    beforeAll(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'cwr-suite-'))
      ctx.server = await testServer({ DATA_DIR: dataDir, ...env })
      ctx.db = { sql: ctx.server.sql }
    }, 60_000) // PGlite's first start runs initdb
    afterAll(async () => {
      await ctx.server?.stop()
      rmSync(dataDir, { recursive: true, force: true })
    }, 30_000)
    body(ctx, 'embedded')
  })
}
