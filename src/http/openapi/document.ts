import { problemCatalogue, type ProblemCode } from '../problems'
import { answerExamples, bodyExamples, modelExamples } from './examples'
import { headerComponents, responseHeaders, type Manners } from './headers'
import { hoist, openForReading, toOas30, type Json } from './schema'

// @elysiajs/swagger writes what Elysia can accept in general, in a mix of JSON Schema dialects; this turns
// its output into the document of what this API does, valid OpenAPI 3.0.3:
// - bodies are JSON only; successes are application/json, errors application/problem+json (RFC 9457)
//   written as the one Problem component narrowed to the codes that operation can return;
// - schemas use 3.0.3's `enum` and `nullable`, and every titled model is one component used by $ref;
// - query parameters are numbers and booleans, not "string or number" (Elysia coerces query text);
// - servers, examples and the response headers of the HTTP manners are documented.

/** Operations whose answers carry a strong ETag (see src/http/shared-answer.ts). */
const CONDITIONAL = new Set(['listConcerts', 'listSchedules', 'listSeats', 'getSeatMap'])
/**
 * Operations that spend the user's request budget though no bearer token names the user, and the statuses
 * they answer before spending it: opening a status stream (the queue token names the user, once it is
 * read: a malformed or forged one spends nothing; src/waiting-room/routes.ts).
 */
const BUDGETED_WITHOUT_BEARER: Record<string, number[]> = { watchQueueStatus: [204, 400, 401] }
/**
 * Query parameters that are an operation's whole credential: required in the document, though the route's
 * schema leaves them optional so that a missing one is answered as a missing credential (401), not a 400.
 */
const CREDENTIAL_PARAMETERS: Record<string, string> = { watchQueueStatus: 'token' }
/** Operations whose 201 names what it made in Location. */
// The operations whose 201 names a resource in Location, and what a client reads there, with which
// credentials: the concert an operator creates is read by users, not with the admin key (helper-48 read
// "where the created resource can be read" as readable by the caller).
const LOCATED: Record<string, string> = {
  joinQueue: 'The place in the line: GET it with the `token` of this answer as X-Queue-Token',
  holdSeat: 'The reservation: GET it with the same bearer token',
  createConcert:
    "The concert's dates as users read them: GET it with a user's bearer token and an ACTIVE queue token of the concert (there is no admin read of a concert; GET /v1/admin/concerts/{concertId}/queue reads its line)",
}

function tidyParameter(parameter: Json): Json {
  let schema = parameter.schema
  if (schema?.anyOf) {
    const typed = schema.anyOf.find((s: Json) => s.type !== 'string' || !s.format)
    if (typed) {
      const { anyOf, ...rest } = schema
      schema = { ...rest, ...typed }
    }
  }
  return { ...parameter, schema: toOas30(schema) }
}

function problemResponse(schema: Json, status: number): Json {
  const codes: ProblemCode[] = toOas30(schema).properties?.code?.enum ?? []
  return {
    description: codes.map((c) => `${c}: ${problemCatalogue[c].title}`).join('; ') || 'Problem details',
    content: {
      'application/problem+json': {
        schema: {
          allOf: [
            { $ref: '#/components/schemas/Problem' },
            { type: 'object', required: ['code'], properties: { code: { type: 'string', enum: codes } } },
          ],
        },
        example: codes[0] && {
          type: `urn:concert-waiting-room:problem:${codes[0].toLowerCase().replaceAll('_', '-')}`,
          title: problemCatalogue[codes[0]].title,
          status,
          detail: problemCatalogue[codes[0]].title,
          code: codes[0],
          instance: 'urn:request:3f0c2a9e-8d1b-4c5e-9f7a-6b2d1e0c4a38',
        },
      },
    },
  }
}

function exampleOf(schema: Json): unknown {
  const name = (ref: unknown) => (typeof ref === 'string' ? ref.split('/').pop()! : '')
  if (schema.$ref) return modelExamples[name(schema.$ref)]
  if (schema.type === 'array' && schema.items?.$ref) {
    const item = modelExamples[name(schema.items.$ref)]
    return item === undefined ? undefined : [item]
  }
  return undefined
}

function successResponse(response: Json, status: number, models: Json, operationId: string): Json {
  const raw = response.content?.['application/json']?.schema
  if (!raw) return { description: response.description ?? 'OK', content: response.content }
  // A success that is not JSON names its media type on its schema (the event stream of pushed status).
  if (typeof raw.contentMediaType === 'string') {
    const { contentMediaType, ...schema } = raw
    return { description: schema.description ?? 'OK', content: { [contentMediaType]: { schema: toOas30(schema) } } }
  }
  // The plugin moves the title of a response's own schema onto the response object; put it back.
  const titled = response.title && raw.type === 'object' && !raw.title ? { ...raw, title: response.title } : raw
  const schema = hoist(openForReading(toOas30(titled)), models)
  const example = exampleOf(schema) ?? answerExamples[operationId]
  return {
    description: status === 201 ? 'Created' : 'OK',
    content: { 'application/json': example === undefined ? { schema } : { schema, example } },
  }
}

const pascal = (code: string) => code.toLowerCase().replace(/(^|_)([a-z])/g, (_, __, c: string) => c.toUpperCase())

/**
 * Problem responses that several operations share word for word (a 500, a 413, a 401 of the bearer
 * routes) become one entry of components.responses, named after their codes.
 */
function shareProblemResponses(paths: Json): Json {
  const uses = new Map<string, { name: string; response: Json; count: number }>()
  const each = function* () {
    for (const item of Object.values(paths) as Json[]) for (const operation of Object.values(item) as Json[]) {
      for (const [status, response] of Object.entries(operation.responses as Json)) if (Number(status) >= 400) yield { operation, status, response }
    }
  }
  for (const { response } of each()) {
    const key = JSON.stringify(response)
    const codes: string[] = response.content['application/problem+json'].schema.allOf[1].properties.code.enum
    const use = uses.get(key) ?? { name: codes.map(pascal).join('Or'), response, count: 0 }
    use.count++
    uses.set(key, use)
  }
  const shared: Json = {}
  const names = new Map<string, number>()
  for (const use of uses.values()) if (use.count > 1) names.set(use.name, (names.get(use.name) ?? 0) + 1)
  for (const [key, use] of uses) {
    if (use.count < 2) continue
    // Two different responses with the same codes (their headers differ): each keeps a name of its own.
    const n = names.get(use.name)!
    if (n > 1) {
      names.set(use.name, n - 1)
      use.name = `${use.name}${n}`
    }
    shared[use.name] = use.response
    uses.set(key, use)
  }
  for (const { operation, status, response } of each()) {
    const use = uses.get(JSON.stringify(response))!
    if (use.count > 1) operation.responses[status] = { $ref: `#/components/responses/${use.name}` }
  }
  return shared
}

export function contractDocument(generated: Json, options: { serverUrl?: string } = {}): Json {
  const doc = structuredClone(generated)
  const models: Json = {}
  for (const [name, schema] of Object.entries((doc.components?.schemas ?? {}) as Json)) {
    const { title, ...rest } = openForReading(toOas30(schema))
    // Nested titled schemas become their own components; the component itself keeps its name.
    models[name] = hoist({ ...rest }, models)
  }
  for (const [path, item] of Object.entries(doc.paths ?? {}) as [string, Json][]) {
    for (const [method, operation] of Object.entries(item) as [string, Json][]) {
      const id: string = operation.operationId ?? `${method} ${path}`
      const parameters: Json[] = (operation.parameters ?? []).map(tidyParameter)
      for (const p of parameters) if (p.in === 'query' && p.name === CREDENTIAL_PARAMETERS[id]) p.required = true
      const manners: Manners = {
        rateLimited: (operation.security ?? []).some((s: Json) => 'bearerAuth' in s) || id in BUDGETED_WITHOUT_BEARER,
        beforeBudget: BUDGETED_WITHOUT_BEARER[id],
        idempotent: parameters.some((p) => p.in === 'header' && p.name === 'Idempotency-Key'),
        conditional: CONDITIONAL.has(id),
        paged: parameters.some((p) => p.in === 'query' && p.name === 'cursor'),
        located: LOCATED[id] ?? null,
      }
      if (manners.conditional) parameters.push({ $ref: '#/components/parameters/IfNoneMatch' })
      if (parameters.length) operation.parameters = parameters
      else delete operation.parameters

      const body = operation.requestBody?.content?.['application/json']
      if (body) {
        const schema = hoist(toOas30(body.schema), models)
        const example = bodyExamples[id]
        operation.requestBody.content = { 'application/json': example ? { schema, example } : { schema } }
      }
      const responses: Json = {}
      for (const [code, response] of Object.entries(operation.responses ?? {}) as [string, Json][]) {
        const status = Number(code)
        responses[code] =
          status >= 400 && response.content?.['application/json']
            ? problemResponse(response.content['application/json'].schema, status)
            : successResponse(response, status, models, id)
      }
      // Only routes that spend the caller's budget (bearer routes, and the status stream) can answer 429.
      if (!manners.rateLimited) delete responses['429']
      if (body && !responses['415']) {
        responses['415'] = problemResponse({ properties: { code: { enum: ['UNSUPPORTED_MEDIA_TYPE'] } } }, 415)
      }
      if (manners.conditional) responses['304'] = { description: 'Not modified: If-None-Match names the current ETag' }
      for (const [code, response] of Object.entries(responses)) {
        response.headers = { ...response.headers, ...responseHeaders(Number(code), manners) }
      }
      operation.responses = Object.fromEntries(Object.entries(responses).sort(([a], [b]) => a.localeCompare(b)))
    }
  }
  const responses = shareProblemResponses(doc.paths ?? {})
  return {
    openapi: '3.0.3',
    info: doc.info,
    servers: [{ url: options.serverUrl ?? '/', description: 'The instance serving this document' }],
    tags: doc.tags,
    paths: doc.paths,
    components: {
      ...doc.components,
      schemas: models,
      responses,
      headers: headerComponents,
      parameters: {
        IfNoneMatch: {
          in: 'header',
          name: 'If-None-Match',
          required: false,
          description: 'The ETag of an answer you have; 304 with no body while it is still current',
          schema: { type: 'string' },
        },
      },
    },
  }
}
