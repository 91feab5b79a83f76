import { Elysia } from 'elysia'
import type { Log } from '../log'
import type { Metrics } from '../metrics/metrics'
import { ServiceError, unavailable, type ErrorCode } from '../errors'
import { bodyRefusal } from './json-body'
import { MAX_PAGE } from './pages'
import { problemResponse, RememberedProblem, statusOfError } from './problems'
import { validationDetail } from './validation-detail'

export const MAX_BODY_BYTES = 16 * 1024

/** The body's bytes, or 'too long' as soon as they pass `limit` (nothing past it is read). */
async function bodyUpTo(request: Request, limit: number): Promise<Buffer | 'too long'> {
  const reader = request.body!.getReader()
  const chunks: Uint8Array[] = []
  let bytes = 0
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) return Buffer.concat(chunks, bytes)
      bytes += value.byteLength
      if (bytes > limit) return 'too long'
      chunks.push(value)
    }
  } finally {
    reader.cancel().catch(() => {})
  }
}

// Every body this API reads is JSON: another media type is refused before anything reads it (a
// text/plain body must not be charged like JSON). A charset parameter may only say UTF-8 (RFC 8259).
function isJson(contentType: string | null): boolean {
  if (contentType === null) return false
  const [type, ...parameters] = contentType.split(';').map((part) => part.trim().toLowerCase())
  if (type !== 'application/json') return false
  return parameters.every((p) => p === '' || /^charset="?utf-8"?$/.test(p))
}

// A Host header as RFC 9110 allows it: a registered name or IPv4 address (unreserved, percent-encoded and
// sub-delimiter characters), or an IP literal in brackets, and an optional port. Bun builds request.url by
// putting the header in front of the path as it came, so a Host with '/', '@' or a space made a URL that
// does not parse, or one whose path is not the path asked for.
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[\w.~!$&'()*+,;=%-]*)(?::\d*)?$/

// The API's only integer query parameter, a page size (1..MAX_PAGE on every list). Elysia reads a query
// integer with Number(), which also takes "0x2", "0b11", " 2", "2.0", "1e1" and "+5" (helper-48): a client
// that wrote one of those meant something else, so it is refused as a wrong type is (PRODUCT.md), not
// guessed at.
const INTEGER_PARAMETERS = new Set(['limit'])

/** Where the path of a request's URL begins: past the scheme and the host, as Bun built the URL. */
const pathStart = (url: string) => url.indexOf('/', url.indexOf('://') + 3)

/**
 * Why the query of an API request is refused though its schema took it: a parameter given twice (Elysia
 * keeps the last, so `?limit=1&limit=2` quietly read 2), or an integer not written in decimal digits.
 */
function queryRefusal(url: string): ServiceError | null {
  const at = url.indexOf('?')
  if (at === -1 || !url.startsWith('/v1/', pathStart(url))) return null
  const seen = new Set<string>()
  for (const [name, value] of new URLSearchParams(url.slice(at + 1))) {
    // Not named: a parameter a route does not read is the client's own text (no echo of input, PRODUCT.md).
    if (seen.has(name)) return new ServiceError('VALIDATION_FAILED', 'query: a parameter is given more than once')
    seen.add(name)
    // The bound is checked here too: Elysia's own message for it named no parameter ("property: ...").
    if (INTEGER_PARAMETERS.has(name) && !(/^[1-9][0-9]*$/.test(value) && Number(value) <= MAX_PAGE)) {
      return new ServiceError('VALIDATION_FAILED', `query.${name}: Expected a whole number from 1 to ${MAX_PAGE}, written in decimal digits`)
    }
  }
  return null
}

/**
 * Why the path of an API request is refused: it is not percent-encoded UTF-8 (`%FF`, an encoded lone
 * surrogate, `a%zz`). The runtime hands such a segment to its route as the raw text, so a free-text
 * parameter read it as a value: the operator's end of the session of user `%FF` was a 404 for a user with
 * no place, not a malformed request (helper-59). Other segments are ids, which refuse it by their format.
 */
function pathRefusal(url: string): ServiceError | null {
  const start = pathStart(url)
  const query = url.indexOf('?', start)
  const path = url.slice(start, query === -1 ? undefined : query)
  if (!path.includes('%') || !path.startsWith('/v1/')) return null
  try {
    decodeURIComponent(path)
    return null
  } catch {
    return new ServiceError('VALIDATION_FAILED', 'The path is not percent-encoded UTF-8')
  }
}

const tooLarge = () => new ServiceError('PAYLOAD_TOO_LARGE', `The body must be at most ${MAX_BODY_BYTES} bytes`)

/** Why a request is refused before anything reads its body, or null. */
function refusalOf(request: Request, length: string | null): ServiceError | null {
  const host = request.headers.get('host')
  if (host !== null && !HOST.test(host)) return new ServiceError('VALIDATION_FAILED', 'The Host header is not a host name or address with an optional port')
  const malformed = pathRefusal(request.url)
  if (malformed) return malformed
  if (length !== null && Number(length) > MAX_BODY_BYTES) {
    return tooLarge()
  }
  // A body without a length (chunked) is checked here too: a GET's is not handed to the app at all.
  const hasBody = length !== null ? Number(length) > 0 : request.headers.has('transfer-encoding')
  if (hasBody && !isJson(request.headers.get('content-type'))) {
    return new ServiceError('UNSUPPORTED_MEDIA_TYPE', 'Send the body as application/json (charset, if any, utf-8)')
  }
  // No body is decoded from a content coding (RFC 9110 8.4): a gzip body was read as its compressed
  // bytes (a 400 that blamed the UTF-8), and a plain one labelled gzip was charged (helper-59).
  const coding = request.headers.get('content-encoding')
  if (hasBody && coding !== null && coding.trim().toLowerCase() !== 'identity') {
    return new ServiceError('UNSUPPORTED_MEDIA_TYPE', 'Send the body without a Content-Encoding (identity): no content coding is accepted')
  }
  return null
}

/**
 * The URL a relayed request is sent on with: its own path and query on a fixed origin. Elysia finds the
 * path of a request it is handed (app.handle) from the 12th character of its URL on, past "http://" and
 * a host of four characters at least: the relay of a request to a host such as "api" was routed by a
 * piece of its path. The Host header goes along as it came.
 */
function relayedUrl(url: string): string {
  return `http://relayed${url.slice(pathStart(url))}`
}

export interface EdgeOptions {
  production: boolean
  log: Log
  metrics: Metrics
  /** One log line per request (method, route, status, duration, request id). */
  logRequests: boolean
  /** The methods a path is served with (empty for an unknown path): a known path asked otherwise is a 405. */
  methodsOf: (path: string) => string[]
  /** Answers a request through the whole app (a chunked request, once its body is read, goes through again). */
  dispatch: (request: Request) => Promise<Response>
}

interface RequestState {
  id: string
  startedAt: number
  /** Set when the answer is a problem, which Elysia's own status does not always reflect. */
  status?: number
  code?: ErrorCode
  /** Answered by the same request sent again with its length: that one is measured and logged. */
  relayed?: boolean
}

// The HTTP edge: request ids, the body size limit, per-request metrics and logs, and the one place
// where every error becomes application/problem+json.
export function httpEdge({ production, log, metrics, logRequests, methodsOf, dispatch }: EdgeOptions) {
  const requests = new WeakMap<Request, RequestState>()
  const answer = (request: Request, problem: ServiceError | RememberedProblem) => {
    const state = requests.get(request)
    if (state) {
      state.status = problem instanceof RememberedProblem ? problem.status : statusOfError(problem)
      state.code = problem instanceof RememberedProblem ? problem.body.code : problem.code
    }
    return problemResponse(problem, state ? `urn:request:${state.id}` : undefined)
  }

  // One label object per method, route and status, so the histogram finds its series from the object.
  const labels = new Map<string, Map<string, Map<number, { method: string; route: string; status: number }>>>()
  const labelsOf = (method: string, route: string, status: number) => {
    let byRoute = labels.get(method)
    if (!byRoute) labels.set(method, (byRoute = new Map()))
    let byStatus = byRoute.get(route)
    if (!byStatus) byRoute.set(route, (byStatus = new Map()))
    let known = byStatus.get(status)
    if (!known) byStatus.set(status, (known = Object.freeze({ method, route, status })))
    return known
  }

  /**
   * A chunked body has no length up front: it is read here, no further than the limit, and the request
   * is answered as if it had come with that length (the same request, sent through the app again).
   */
  async function relayWithLength(request: Request, state: RequestState): Promise<Response> {
    let body: Buffer | 'too long'
    try {
      body = await bodyUpTo(request, MAX_BODY_BYTES)
    } catch {
      return answer(request, new ServiceError('VALIDATION_FAILED', 'The body could not be read'))
    }
    if (body === 'too long') return answer(request, tooLarge())
    const headers = new Headers(request.headers)
    headers.delete('transfer-encoding')
    headers.set('content-length', String(body.byteLength))
    headers.set('x-request-id', state.id)
    state.relayed = true
    return dispatch(new Request(relayedUrl(request.url), { method: request.method, headers, body: new Uint8Array(body) }))
  }

  return new Elysia({ name: 'http-edge' })
    // Synchronous for every request that has a length: see test/http/synchronous-hooks.test.ts.
    .onRequest(({ request, set }) => {
      const given = request.headers.get('x-request-id')
      const id = given && /^[\w.:-]{1,128}$/.test(given) ? given : crypto.randomUUID()
      const state: RequestState = { id, startedAt: performance.now() }
      requests.set(request, state)
      set.headers['x-request-id'] = id
      const length = request.headers.get('content-length')
      const refusal = refusalOf(request, length)
      const early = refusal ? answer(request, refusal) : length === null && request.body !== null ? relayWithLength(request, state) : null
      if (early) return early
    })
    // Refused here, once the caller's credentials and budget have been checked: a body that was not JSON,
    // under a schema its empty stand-in satisfies (json-body.ts), and a query Elysia read leniently.
    .onBeforeHandle({ as: 'global' }, ({ request }) => {
      const refusal = bodyRefusal(request) ?? queryRefusal(request.url)
      if (refusal) throw refusal
    })
    .onError({ as: 'global' }, ({ code, error, request, set }) => {
      const state = requests.get(request)
      if (state) set.headers['x-request-id'] = state.id
      if (error instanceof ServiceError || error instanceof RememberedProblem) return answer(request, error)
      switch (code) {
        case 'VALIDATION':
          // A body that was not JSON at all says so, rather than what the empty body put in its place lacks.
          // So does a page size, in our words (helper-59: an empty one was "Expected union value").
          return answer(request, bodyRefusal(request) ?? queryRefusal(request.url) ?? new ServiceError('VALIDATION_FAILED', validationDetail(error, production)))
        case 'PARSE': {
          // Elysia's own parser, on a route that takes no body (a route that does reads it with json-body.ts).
          const cause = (error as { cause?: unknown }).cause
          return answer(request, cause instanceof ServiceError ? cause : new ServiceError('VALIDATION_FAILED', 'The body is not valid JSON'))
        }
        case 'NOT_FOUND': {
          // A known path asked with another method is a 405 naming the methods it has (RFC 9110).
          const allow = methodsOf(new URL(request.url).pathname).join(', ')
          if (!allow) return answer(request, new ServiceError('NOT_FOUND', 'No such route'))
          if (request.method === 'OPTIONS') return new Response(null, { status: 204, headers: { allow } })
          const refused = answer(request, new ServiceError('METHOD_NOT_ALLOWED', `This method is not served here; allowed: ${allow}`))
          refused.headers.set('allow', allow)
          return refused
        }
      }
      if (unavailable(error)) {
        log({ level: 'warn', msg: 'backing service unavailable', requestId: state?.id, error: String(error) })
        return answer(request, new ServiceError('SERVICE_UNAVAILABLE', 'A backing service is unavailable; retry shortly', { retryAfterSeconds: 2 }))
      }
      log({ level: 'error', msg: 'unhandled error', requestId: state?.id, error: String(error), stack: (error as Error)?.stack })
      const detail = production ? 'An internal error occurred' : `An internal error occurred: ${String(error)}`
      return answer(request, new ServiceError('INTERNAL_ERROR', detail))
    })
    .onAfterResponse({ as: 'global' }, ({ request, route, set }) => {
      const state = requests.get(request)
      if (!state || state.relayed) return
      const status = state.status ?? (typeof set.status === 'number' ? set.status : 200)
      const seconds = (performance.now() - state.startedAt) / 1000
      const routeLabel = state.code === 'NOT_FOUND' && !route ? 'unmatched' : route || 'unmatched'
      metrics.http.observe(labelsOf(request.method, routeLabel, status), seconds)
      if (state.code) metrics.problems.inc({ code: state.code })
      if (logRequests) {
        log({
          level: status >= 500 ? 'error' : 'info',
          msg: 'request',
          method: request.method,
          route: routeLabel,
          status,
          ms: Math.round(seconds * 10_000) / 10,
          requestId: state.id,
          ...(state.code ? { code: state.code } : {}),
        })
      }
    })
}
