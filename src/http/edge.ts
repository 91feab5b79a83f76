import { Elysia } from 'elysia'
import { Problem, problemBody, problemResponse, type ProblemCode } from './problems'

export const MAX_BODY_BYTES = 16 * 1024

const unavailableCodes = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'CONNECTION_CLOSED', 'CONNECTION_ENDED',
  'CONNECTION_DESTROYED', 'CONNECT_TIMEOUT', 'ERR_REDIS_CONNECTION_CLOSED',
])

// Postgres said it cannot serve now (shutdown, restart, too many connections, connection failure).
function isUnavailable(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code
  if (typeof code !== 'string') return false
  return unavailableCodes.has(code) || /^(08|57P|53)/.test(code)
}

function validationDetail(error: unknown): string {
  const all = (error as { all?: { path?: string; message?: string }[] }).all
  const first = Array.isArray(all) ? all[0] : undefined
  const where = (error as { type?: string }).type ?? 'request'
  if (!first) return `The ${where} is not valid`
  const path = first.path ? first.path.replace(/^\//, '').replaceAll('/', '.') : ''
  return path ? `${where}.${path}: ${first.message}` : `${where}: ${first.message}`
}

async function longerThanLimit(request: Request): Promise<boolean> {
  const reader = request.body!.getReader()
  let bytes = 0
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) return false
      bytes += value.byteLength
      if (bytes > MAX_BODY_BYTES) return true
    }
  } catch {
    return false // a broken body is the parser's to report
  } finally {
    reader.cancel().catch(() => {})
  }
}

export interface EdgeOptions {
  production: boolean
  log: (entry: Record<string, unknown>) => void
}

// The HTTP edge: request ids, the body size limit, and the one place where every error becomes
// application/problem+json.
export function httpEdge({ production, log }: EdgeOptions) {
  const requestIds = new WeakMap<Request, string>()
  const instanceOf = (request: Request) => {
    const id = requestIds.get(request)
    return id ? `urn:request:${id}` : undefined
  }
  const problem = (code: ProblemCode, detail: string, request: Request) =>
    problemResponse(new Problem(code, detail), instanceOf(request))

  return new Elysia({ name: 'http-edge' })
    .onRequest(async ({ request, set }) => {
      const given = request.headers.get('x-request-id')
      const id = given && /^[\w.:-]{1,128}$/.test(given) ? given : crypto.randomUUID()
      requestIds.set(request, id)
      set.headers['x-request-id'] = id
      const length = request.headers.get('content-length')
      // A chunked body has no length up front: count it on a copy, reading no further than the limit.
      if (length !== null ? Number(length) > MAX_BODY_BYTES : request.body !== null && (await longerThanLimit(request.clone()))) {
        return problem('PAYLOAD_TOO_LARGE', `The body must be at most ${MAX_BODY_BYTES} bytes`, request)
      }
    })
    .onError({ as: 'global' }, ({ code, error, request, set }) => {
      const instance = instanceOf(request)
      const id = requestIds.get(request)
      if (id) set.headers['x-request-id'] = id
      if (error instanceof Problem) return problemResponse(error, instance)
      switch (code) {
        case 'VALIDATION':
          return problemResponse(new Problem('VALIDATION_FAILED', validationDetail(error)), instance)
        case 'PARSE':
          return problemResponse(new Problem('VALIDATION_FAILED', 'The body is not valid JSON'), instance)
        case 'NOT_FOUND':
          return problemResponse(new Problem('NOT_FOUND', 'No such route'), instance)
      }
      if (isUnavailable(error)) {
        log({ level: 'warn', msg: 'backing service unavailable', requestId: id, error: String(error) })
        return problemResponse(
          new Problem('SERVICE_UNAVAILABLE', 'A backing service is unavailable; retry shortly', { retryAfterSeconds: 2 }),
          instance,
        )
      }
      log({ level: 'error', msg: 'unhandled error', requestId: id, error: String(error), stack: (error as Error)?.stack })
      const detail = production ? 'An internal error occurred' : `An internal error occurred: ${String(error)}`
      return new Response(JSON.stringify(problemBody('INTERNAL_ERROR', detail, instance)), {
        status: 500,
        headers: { 'content-type': 'application/problem+json' },
      })
    })
}
