import { afterAll, beforeAll, expect, test } from 'bun:test'
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createClient } from '@hey-api/openapi-ts'
import openapiTS, { astToString } from 'openapi-typescript'
import { loadConfig } from '../../../src/config'
import { silentLog } from '../../../src/log'
import { startServer, type Server } from '../../../src/server'
import { ADMIN_KEY, TEST_SECRET } from '../../support/app'
import { createTestDatabase, type TestDatabase } from '../../support/database'
import { describeWith, serviceUrl } from '../../support/services'

describeWith(['DATABASE_URL'], 'the OpenAPI document', () => {
  let db: TestDatabase
  let server: Server
  let base: string
  let doc: any
  beforeAll(async () => {
    db = await createTestDatabase(serviceUrl('DATABASE_URL')!)
    const config = loadConfig({
      DATABASE_URL: db.url,
      AUTH_JWT_SECRET: TEST_SECRET,
      ADMIN_API_KEY: ADMIN_KEY,
      AUTH_DEV_TOKENS: 'true',
      PORT: '0',
    })
    server = await startServer(config, { log: silentLog })
    base = `http://127.0.0.1:${server.port}`
    doc = await (await fetch(`${base}/swagger/json`)).json()
  })
  afterAll(async () => {
    await server?.stop()
    await db?.drop()
  })

  test('is OpenAPI 3.0.x and every operation has an id, a tag, a summary, security and its error statuses', () => {
    expect(doc.openapi).toMatch(/^3\.0\.\d+$/)
    const operations = Object.entries(doc.paths).flatMap(([path, item]: [string, any]) =>
      Object.entries(item).map(([method, op]: [string, any]) => ({ path, method, op })),
    )
    expect(operations.length).toBeGreaterThanOrEqual(17)
    const ids = new Set<string>()
    for (const { path, method, op } of operations) {
      const where = `${method.toUpperCase()} ${path}`
      expect(op.operationId, where).toMatch(/^[a-z][A-Za-z]+$/)
      expect(ids.has(op.operationId), `${where} operationId is unique`).toBe(false)
      ids.add(op.operationId)
      expect(op.tags?.length, where).toBeGreaterThan(0)
      expect(op.summary, where).toBeTruthy()
      expect(Array.isArray(op.security), `${where} declares security`).toBe(true)
      const statuses = Object.keys(op.responses)
      expect(statuses.some((s) => s.startsWith('2')), `${where} success`).toBe(true)
      if (path.startsWith('/v1/')) {
        expect(statuses, where).toEqual(expect.arrayContaining(['400', '500', '503']))
        // 429 exactly where the caller's budget is spent: the routes of a signed-in user, and opening a
        // status stream, which spends the budget of the user its queue token names (helper-33: undocumented).
        const spendsBudget = op.security.some((s: Record<string, unknown>) => 'bearerAuth' in s) || op.operationId === 'watchQueueStatus'
        expect(statuses.includes('429'), `${where} 429`).toBe(spendsBudget)
        for (const s of statuses.filter((s) => Number(s) >= 400)) {
          const response = op.responses[s].$ref ? doc.components.responses[op.responses[s].$ref.split('/').pop()] : op.responses[s]
          expect(response.content?.['application/problem+json']?.schema, `${where} ${s} schema`).toBeDefined()
        }
      }
    }
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['adminKey', 'bearerAuth', 'queueToken'])
  })

  /** tsc --strict on one file; the output lists every type error (none expected). */
  function typeErrors(file: string): string {
    const tsc = Bun.spawnSync(
      ['./node_modules/.bin/tsc', '--noEmit', '--strict', '--skipLibCheck', '--target', 'esnext', '--module', 'esnext',
        '--moduleResolution', 'bundler', '--lib', 'esnext,dom', '--types', 'bun', file],
      { cwd: join(import.meta.dir, '..', '..', '..') },
    )
    return tsc.stdout.toString() + tsc.stderr.toString()
  }

  test('an openapi-typescript + openapi-fetch client compiles under strict with exact types, and books a seat end to end', async () => {
    const dir = join(import.meta.dir, '.generated')
    mkdirSync(dir, { recursive: true })
    writeFileSync(join(dir, 'api.d.ts'), astToString(await openapiTS(doc)))
    copyFileSync(join(import.meta.dir, 'sdk-client.template.ts'), join(dir, 'client.ts'))
    expect(typeErrors(join(dir, 'client.ts'))).toBe('')

    const { bookThroughGeneratedClient } = await import(join(dir, 'client.ts'))
    expect(await bookThroughGeneratedClient(base, ADMIN_KEY)).toEqual({
      paidStatus: 'PAID',
      amount: 2500,
      balance: 7500,
      conflict: 'SEAT_UNAVAILABLE',
      queueStatus: 'DONE',
    })
  }, 60_000)

  test('a @hey-api/openapi-ts client compiles under strict with exact types, and books a seat end to end', async () => {
    const dir = join(import.meta.dir, '.generated')
    const output = join(dir, 'hey')
    rmSync(output, { recursive: true, force: true })
    mkdirSync(dir, { recursive: true })
    writeFileSync(join(dir, 'openapi.json'), JSON.stringify(doc))
    await createClient({
      input: join(dir, 'openapi.json'),
      output,
      plugins: ['@hey-api/client-fetch', '@hey-api/typescript', '@hey-api/sdk'],
      logs: { level: 'silent' },
    })
    copyFileSync(join(import.meta.dir, 'sdk-hey-api.template.ts'), join(dir, 'hey-client.ts'))
    expect(typeErrors(join(dir, 'hey-client.ts'))).toBe('')

    const { bookThroughHeyApiClient } = await import(join(dir, 'hey-client.ts'))
    expect(await bookThroughHeyApiClient(base, ADMIN_KEY)).toEqual({
      paidStatus: 'PAID',
      amount: 2500,
      balance: 7500,
      conflict: 'SEAT_UNAVAILABLE',
      location: true,
      queueStatus: 'DONE',
    })
  }, 60_000)
})
