import { afterAll, beforeAll, expect, test } from 'bun:test'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { call, onFreshDatabase } from '../../support/app'
import { describeWith } from '../../support/services'

const root = join(import.meta.dir, '..', '..', '..')
const bin = (name: string) => join(root, 'node_modules', '.bin', name)

/** Runs a linter's CLI under Bun (CI has no Node) and parses its JSON report. */
function lint(command: string[]): any {
  const run = Bun.spawnSync(['bun', '--bun', ...command], { cwd: root, stderr: 'pipe' })
  const out = run.stdout.toString()
  try {
    return JSON.parse(out)
  } catch {
    throw new Error(`${command[0]} gave no report (exit ${run.exitCode}): ${run.stderr.toString().slice(0, 2000)}`)
  }
}

const resolve = (node: any): any => (node?.$ref ? resolveRef(node.$ref) : node)
let resolveRef: (ref: string) => any = () => undefined

describeWith(['DATABASE_URL'], 'the OpenAPI document, judged by tools nobody here wrote', () => {
  const ctx = onFreshDatabase()
  let dir: string
  let file: string
  let doc: any
  beforeAll(async () => {
    const reply = await call(ctx.server, '/swagger/json')
    doc = reply.body
    resolveRef = (ref) => ref.replace(/^#\//, '').split('/').reduce((n: any, k: string) => n?.[k], doc)
    dir = mkdtempSync(join(tmpdir(), 'openapi-lint-'))
    file = join(dir, 'openapi.json')
    writeFileSync(file, reply.text)
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  test('Redocly (recommended) finds 0 errors, and every example matches its schema', () => {
    const report = lint([bin('redocly'), 'lint', '--extends', 'recommended', '--format', 'json', '--max-problems', '10000', file])
    const errors = report.problems.filter((p: any) => p.severity === 'error')
    expect(errors.map((p: any) => `${p.ruleId}: ${p.message} at ${p.location?.[0]?.pointer}`)).toEqual([])
    expect(report.totals.errors).toBe(0)
    const badExamples = report.problems.filter((p: any) => /example/.test(p.ruleId))
    expect(badExamples.map((p: any) => `${p.message} at ${p.location?.[0]?.pointer}`)).toEqual([])
  }, 60_000)

  test('Spectral (spectral:oas) finds 0 errors', () => {
    const report: any[] = lint([bin('spectral'), 'lint', '-r', join(import.meta.dir, '.spectral.yaml'), '-f', 'json', file])
    const errors = report.filter((p) => p.severity === 0)
    expect(errors.map((p) => `${p.code}: ${p.message} at ${p.path.join('.')}`)).toEqual([])
  }, 60_000)

  test('shared models are components used by $ref; nullables and enums are written the 3.0.3 way', () => {
    expect(doc.openapi).toBe('3.0.3')
    const schemas = doc.components.schemas
    for (const name of ['Problem', 'Reservation', 'QueueStatus', 'QueueJoin', 'Seat', 'LedgerEntry', 'Payment']) expect(schemas[name], name).toBeDefined()
    const text = JSON.stringify(doc)
    expect(text).not.toContain('"const"')
    expect(text).not.toContain('"type":"null"')
    expect(schemas.QueueStatus.properties.position).toMatchObject({ type: 'integer', nullable: true })
    expect(schemas.QueueStatus.properties.status).toMatchObject({ type: 'string', enum: ['WAITING', 'ACTIVE', 'EXPIRED', 'DONE', 'SOLD_OUT'] })
    expect(schemas.LedgerEntry.properties.reservationId).toMatchObject({ type: 'string', format: 'uuid', nullable: true })
    const hold = doc.paths['/v1/reservations'].post
    expect(hold.responses['201'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Reservation' })
    expect(doc.paths['/v1/reservations'].get.responses['200'].content['application/json'].schema).toEqual({
      type: 'array',
      items: { $ref: '#/components/schemas/Reservation' },
    })
  })

  test("each error response is the Problem component narrowed to the codes that operation can return", () => {
    const codes = (path: string, method: string, status: number) => {
      const media = resolve(doc.paths[path][method].responses[status]).content['application/problem+json']
      expect(media.schema.allOf[0]).toEqual({ $ref: '#/components/schemas/Problem' })
      return media.schema.allOf[1].properties.code.enum
    }
    expect(codes('/v1/payments', 'post', 409).sort()).toEqual(['ALREADY_PAID', 'HOLD_EXPIRED', 'IDEMPOTENCY_IN_PROGRESS'])
    expect(codes('/v1/payments', 'post', 402)).toEqual(['INSUFFICIENT_BALANCE'])
    expect(codes('/v1/reservations', 'post', 409).sort()).toEqual(['HOLD_LIMIT_REACHED', 'SEAT_UNAVAILABLE'])
    expect(codes('/v1/queue/status', 'get', 401).sort()).toEqual(['QUEUE_TOKEN_INVALID', 'UNAUTHENTICATED'])
    expect(codes('/v1/queue/tokens', 'post', 415)).toEqual(['UNSUPPORTED_MEDIA_TYPE'])
    // Inline problem schemas were 84% of the old document; now there is one, and the error responses
    // that operations share word for word are written once.
    const inline = JSON.stringify(doc.paths).match(/"detail":\{"type":"string"/g) ?? []
    expect(inline.length).toBe(0)
    expect(doc.paths['/v1/balance'].get.responses['500']).toEqual({ $ref: '#/components/responses/InternalError' })
    expect(JSON.stringify(doc).length).toBeLessThan(80_000)
  })

  test('servers, examples and the response headers of the HTTP manners are documented', () => {
    expect(doc.servers).toEqual([expect.objectContaining({ url: expect.any(String) })])
    const op = (path: string, method: string) => doc.paths[path][method]
    for (const [path, method] of [['/v1/queue/tokens', 'post'], ['/v1/reservations', 'post'], ['/v1/payments', 'post'], ['/v1/balance/charges', 'post']] as const) {
      expect(op(path, method).requestBody.content['application/json'].example, `${method} ${path}`).toBeDefined()
    }
    expect(op('/v1/queue/status', 'get').responses['200'].content['application/json'].example.status).toBe('WAITING')
    const headers = (path: string, method: string, status: number) => Object.keys(resolve(op(path, method).responses[status]).headers ?? {})
    expect(headers('/v1/reservations', 'post', 201)).toEqual(expect.arrayContaining(['Location', 'RateLimit', 'RateLimit-Policy', 'X-Request-Id']))
    expect(headers('/v1/reservations', 'post', 401)).toContain('WWW-Authenticate')
    expect(headers('/v1/reservations', 'post', 429)).toEqual(expect.arrayContaining(['Retry-After', 'RateLimit']))
    expect(headers('/v1/schedules/{scheduleId}/seats', 'get', 200)).toEqual(expect.arrayContaining(['ETag', 'Cache-Control']))
    expect(op('/v1/schedules/{scheduleId}/seats', 'get').responses['304']).toBeDefined()
    expect(headers('/v1/concerts', 'get', 200)).toContain('Link')
    expect(headers('/v1/payments', 'post', 201)).toContain('Idempotent-Replayed')
    expect(headers('/v1/payments', 'post', 503)).toContain('Retry-After')
    // Location says how what it names is read: an operator cannot read a concert it created with its key.
    expect(resolve(op('/v1/admin/concerts', 'post').responses['201']).headers.Location.description).toMatch(/user's bearer token and an ACTIVE queue token/)
  })

  test("every operation documents the edge's refusals, which reach every route (helper-48: /health and /metrics answered 413 and 415 undocumented)", () => {
    const missing: string[] = []
    for (const [path, item] of Object.entries<any>(doc.paths)) {
      for (const [method, operation] of Object.entries<any>(item)) {
        for (const status of ['400', '413', '415', '500', '503']) if (!operation.responses[status]) missing.push(`${method} ${path} ${status}`)
      }
    }
    expect(missing).toEqual([])
  })
})
