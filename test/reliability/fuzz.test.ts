import { afterAll, beforeAll, expect, test } from 'bun:test'
import fc from 'fast-check'
import { ADMIN_KEY } from '../support/app'
import { reportInvariants } from '../support/invariants'
import { describeWith } from '../support/services'
import { pool, send, startCluster, type Cluster, type Reply } from './support/cluster'
import { admitCrowd } from './support/crowd'
import { record } from './support/results'
import { mismatch } from './support/schema'

// Schema fuzz: malformed requests generated from the live OpenAPI document, over every operation.
// Every answer must be below 500, every error application/problem+json with {type,title,status,detail,code},
// every status one the document lists for the operation, and every body must match the schema listed for it.

const REQUESTS = Number(process.env.RELIABILITY_FUZZ_REQUESTS ?? 10_000)

type Json = Record<string, any>
interface Operation {
  method: string
  path: string
  op: Json
}
interface Fuzzed {
  operation: Operation
  kind: string
  path: string
  headers: Record<string, string>
  rawBody?: string
}

describeWith(['DATABASE_URL', 'REDIS_URL'], 'reliability: schema fuzz', () => {
  let cluster: Cluster
  beforeAll(async () => {
    cluster = await startCluster({ instances: 2 })
  }, 60_000)
  afterAll(async () => {
    await cluster?.stop()
  }, 60_000)

  test(`19. schema fuzz: ${REQUESTS} malformed requests over every operation: no 5xx, only problem+json errors, every answer in the document`, async () => {
    const { concertId, scheduleIds } = await cluster.createConcert({ seats: 100, price: 100, schedules: 2 })
    const [user] = await admitCrowd(cluster, concertId, ['fz-user'])
    await cluster.charge(0, user!.token, 100_000)
    const reservationId = (await cluster.hold(0, user!, scheduleIds[0]!, 1)).body.reservationId as string
    const doc = (await send(cluster.url(0), '/swagger/json')).body as Json

    const operations: Operation[] = Object.entries(doc.paths as Json).flatMap(([path, item]) =>
      Object.entries(item as Json).map(([method, op]) => ({ method: method.toUpperCase(), path, op: op as Json })),
    )
    const known: Record<string, string> = { concertId, scheduleId: scheduleIds[0]!, reservationId, userId: 'fz-user' }

    /** A valid value for a schema, using the known ids for fields of those names. */
    function example(schema: Json, name = ''): unknown {
      if (schema.$ref) return example(schema.$ref.replace(/^#\//, '').split('/').reduce((n: any, k: string) => n[k], doc), name)
      if (schema.anyOf) return example(schema.anyOf[0], name)
      if ('const' in schema) return schema.const
      switch (schema.type) {
        case 'object': {
          const out: Json = {}
          const properties = (schema.properties ?? {}) as Json
          const keys = schema.required?.length ? schema.required : Object.keys(properties).slice(0, 1)
          for (const key of keys as string[]) out[key] = example(properties[key], key)
          return out
        }
        case 'array':
          return Array.from({ length: Math.max(1, schema.minItems ?? 1) }, () => example(schema.items, name))
        case 'integer':
        case 'number':
          return name === 'seatNumber' ? 2 + Math.floor(Math.random() * 90) : Math.max(schema.minimum ?? 1, 1)
        case 'boolean':
          return false
        default:
          if (known[name]) return known[name]
          if (schema.format === 'uuid') return crypto.randomUUID()
          if (schema.format === 'date-time') return '2027-01-01T19:00:00Z'
          return 'x'.repeat(Math.max(1, schema.minLength ?? 1))
      }
    }

    function baseline(o: Operation) {
      const headers: Record<string, string> = {}
      const security = JSON.stringify(o.op.security ?? [])
      if (security.includes('bearerAuth')) headers.authorization = `Bearer ${user!.token}`
      if (security.includes('queueToken')) headers['x-queue-token'] = user!.queueToken
      if (security.includes('adminKey')) headers['x-admin-key'] = ADMIN_KEY
      const schema = o.op.requestBody?.content?.['application/json']?.schema
      return { headers, body: schema ? (example(schema) as Json) : undefined, schema }
    }

    const junk = fc.oneof(
      fc.jsonValue(),
      fc.constantFrom(-1, 0, -0.5, 1.5, 2 ** 53 + 2, -(2 ** 63), 1e308, '', ' ', 'null', 'NaN', '1e999', '2027-13-45T99:99:99Z', '00000000-0000-0000-0000-00000000000g'),
      fc.integer({ min: 1, max: 40_000 }).map((n) => 'x'.repeat(n)),
    )
    const pathJunk = fc.oneof(
      fc.string({ maxLength: 60 }),
      fc.uuid(),
      fc.constantFrom('..', '%00', 'null', '-1', '0', 'a'.repeat(300), '😀', '%', '%zz', ' ', '00000000-0000-0000-0000-000000000000'),
    )
    const queryName = fc.oneof(fc.constantFrom('limit', 'cursor', 'available', 'userId', 'status'), fc.string({ minLength: 1, maxLength: 20 }))
    const queryValue = fc.oneof(fc.string({ maxLength: 80 }), fc.integer().map(String), fc.constantFrom('', '101', '0', '-1', '1e3', '1.5', 'true', 'maybe', 'l99999999999999999999', 'bDE=', 'x'.repeat(2000)))
    const rawJunk = fc.oneof(
      fc.string({ maxLength: 100 }),
      fc.constantFrom('{', '{"a":', '[1,2', '{"amount":1,}', '{"amount":01}', "{'a':1}", 'null', '""', '[]', '{}{}', '\u0000', '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{}}}'),
    )
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('field-type'), n: fc.nat(), value: junk }),
      fc.record({ kind: fc.constant('field-missing'), n: fc.nat() }),
      fc.record({ kind: fc.constant('field-extra'), key: fc.string({ minLength: 1, maxLength: 20 }), value: fc.jsonValue() }),
      fc.record({ kind: fc.constant('body-whole'), value: fc.jsonValue() }),
      fc.record({ kind: fc.constant('body-raw'), raw: rawJunk }),
      fc.record({ kind: fc.constant('body-huge'), size: fc.integer({ min: 16 * 1024 - 20, max: 200_000 }) }),
      fc.record({ kind: fc.constant('content-type'), type: fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', 'application/json; charset=utf-16', '*/*', 'application/problem+json') }),
      fc.record({ kind: fc.constant('path-id'), n: fc.nat(), value: pathJunk }),
      fc.record({ kind: fc.constant('query'), pairs: fc.array(fc.tuple(queryName, queryValue), { minLength: 1, maxLength: 3 }) }),
      fc.record({ kind: fc.constant('header'), name: fc.constantFrom('idempotency-key', 'x-queue-token', 'authorization', 'x-admin-key', 'content-length-lie'), value: fc.oneof(fc.string({ unit: fc.constantFrom(...'abcXYZ019-_.= '.split('')), maxLength: 300 }), fc.constantFrom('', 'Bearer', 'Bearer ', 'Basic abc')) }),
    )

    function build(o: Operation, m: any): Fuzzed {
      const { headers, body, schema } = baseline(o)
      let path = o.path
      const params = [...o.path.matchAll(/\{(\w+)\}/g)].map((x) => x[1]!)
      for (const p of params) path = path.replace(`{${p}}`, encodeURIComponent(known[p] ?? crypto.randomUUID()))
      let rawBody = body === undefined ? undefined : JSON.stringify(body)
      const fields = body && typeof body === 'object' ? Object.keys(body) : []
      switch (m.kind) {
        case 'field-type':
          if (fields.length) rawBody = JSON.stringify({ ...body, [fields[m.n % fields.length]!]: m.value })
          else if (params.length) path = path.replace(encodeURIComponent(known[params[0]!] ?? ''), encodeURIComponent(String(m.value).slice(0, 200)) || '%20')
          break
        case 'field-missing':
          if (fields.length) {
            const copy = { ...body }
            delete copy[fields[m.n % fields.length]!]
            rawBody = JSON.stringify(copy)
          }
          break
        case 'field-extra':
          if (body) rawBody = JSON.stringify({ ...body, [m.key]: m.value })
          else path += `?${encodeURIComponent(m.key)}=1`
          break
        case 'body-whole':
          if (schema) rawBody = JSON.stringify(m.value)
          break
        case 'body-raw':
          if (schema) rawBody = m.raw
          break
        case 'body-huge':
          if (schema) rawBody = JSON.stringify({ ...body, pad: 'x'.repeat(m.size) })
          break
        case 'content-type':
          if (schema) headers['content-type'] = m.type
          break
        case 'path-id':
          if (params.length) {
            const p = params[m.n % params.length]!
            path = path.replace(encodeURIComponent(known[p] ?? ''), encodeURIComponent(m.value) || '%20')
          }
          break
        case 'query':
          path += `?${m.pairs.map(([k, v]: [string, string]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')}`
          break
        case 'header':
          if (m.name === 'content-length-lie') headers['x-content-length'] = m.value
          else headers[m.name] = m.value
          break
      }
      if (rawBody !== undefined && !headers['content-type']) headers['content-type'] = 'application/json'
      return { operation: o, kind: m.kind, path, headers, rawBody }
    }

    const mutations = fc.sample(mutation, { numRuns: REQUESTS, seed: 19 })
    const requests = mutations.map((m, i) => build(operations[i % operations.length]!, m))
    const replies = await pool(requests, 16, (r, i) =>
      send(cluster.url(i), r.path, { method: r.operation.method, headers: r.headers, rawBody: r.rawBody, timeoutMs: 15_000 }),
    )

    const problems: string[] = []
    const counts = { serverErrors: 0, noAnswer: 0, notProblem: 0, badProblem: 0, unlisted: 0, schemaMismatch: 0, vague: 0, errors: 0, successes: 0 }
    const sample = (what: string, r: Fuzzed, reply: Reply) => {
      if (problems.length < 12) problems.push(`${what}: ${r.operation.method} ${r.path.slice(0, 80)} [${r.kind}] -> ${reply.status} ${reply.text.slice(0, 160)}`)
    }
    const statuses = new Map<number, number>()
    requests.forEach((r, i) => {
      const reply = replies[i]!
      statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1)
      if (reply.status === 0) return void (counts.noAnswer++, sample('no answer', r, reply))
      if (reply.status >= 500) return void (counts.serverErrors++, sample('5xx', r, reply))
      const entry = r.operation.op.responses?.[String(reply.status)]
      // Responses several operations share are components.responses entries, named by $ref.
      const listed = entry?.$ref ? entry.$ref.replace(/^#\//, '').split('/').reduce((n: any, k: string) => n?.[k], doc) : entry
      // A '..' id is resolved by the URL itself (WHATWG): the request names the parent path, where a 405
      // with Allow is the documented manner rather than a status of this operation.
      const reparented = reply.status === 405 && /\/\.\.?(\/|$)/.test(r.path)
      if (!listed && !reparented) {
        counts.unlisted++
        sample('status not in the document', r, reply)
      }
      const contentType = reply.headers.get('content-type') ?? ''
      if (reply.status >= 400) {
        counts.errors++
        if (!contentType.startsWith('application/problem+json')) return void (counts.notProblem++, sample('not problem+json', r, reply))
        const b = reply.body
        if (!b || typeof b.type !== 'string' || typeof b.title !== 'string' || b.status !== reply.status || typeof b.detail !== 'string' || typeof b.code !== 'string') {
          counts.badProblem++
          sample('malformed problem', r, reply)
        } else if (/union value/i.test(b.detail)) {
          // TypeBox's message for a field that takes one of several kinds names none of them (helper-59).
          counts.vague++
          sample('a detail that says nothing of what was expected', r, reply)
        }
      } else counts.successes++
      const schema = listed?.content?.[contentType.split(';')[0]!]?.schema
      if (listed && schema) {
        const wrong = mismatch(schema, reply.body, doc)
        if (wrong) {
          counts.schemaMismatch++
          sample(`body does not match (${wrong})`, r, reply)
        }
      } else if (listed && listed.content && reply.text.length > 0 && !contentType.startsWith('text/plain')) {
        counts.schemaMismatch++
        sample(`no schema for ${contentType}`, r, reply)
      }
    })
    const { total } = await reportInvariants(cluster.db.sql, 'check 19')
    if (problems.length) console.log('check 19 findings:\n  ' + problems.join('\n  '))
    const figures = {
      requests: requests.length,
      operations: operations.length,
      statuses: [...statuses.entries()].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}:${n}`).join(' '),
      '5xx': counts.serverErrors,
      'no answer': counts.noAnswer,
      'errors not problem+json': counts.notProblem,
      'malformed problems': counts.badProblem,
      'statuses not in the document': counts.unlisted,
      'bodies not matching the schema': counts.schemaMismatch,
      'details naming no expected value': counts.vague,
      'invariant violations': total,
    }
    const pass = requests.length >= 10_000 && counts.serverErrors + counts.noAnswer + counts.notProblem + counts.badProblem + counts.unlisted + counts.schemaMismatch + counts.vague === 0 && total === 0
    record(19, 'schema fuzz from the OpenAPI document', figures, pass)
    expect(problems).toEqual([])
    expect(total).toBe(0)
  }, 300_000)
})
