import { errorTitles, type ErrorCode, type ServiceError } from '../errors'

// How the service's errors look on the wire: each code's HTTP status, and the one way a problem becomes
// application/problem+json (RFC 9457). The edge (edge.ts) is the only caller of problemResponse.

const statusOf: Record<ErrorCode, number> = {
  VALIDATION_FAILED: 400,
  UNAUTHENTICATED: 401,
  QUEUE_TOKEN_INVALID: 401,
  QUEUE_NOT_ACTIVE: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  SEAT_UNAVAILABLE: 409,
  HOLD_LIMIT_REACHED: 409,
  HOLD_EXPIRED: 409,
  ALREADY_PAID: 409,
  INSUFFICIENT_BALANCE: 402,
  BALANCE_LIMIT: 422,
  SOLD_OUT: 409,
  IDEMPOTENCY_KEY_REUSED: 422,
  IDEMPOTENCY_IN_PROGRESS: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  INTERNAL_ERROR: 500,
  SERVICE_UNAVAILABLE: 503,
}

/** Every code with its status and title: what the OpenAPI document and the edge use. */
export const problemCatalogue = Object.fromEntries(
  Object.entries(errorTitles).map(([code, title]) => [code, { status: statusOf[code as ErrorCode], title }]),
) as { [C in ErrorCode]: { status: number; title: (typeof errorTitles)[C] } }

export type ProblemCode = ErrorCode

export function statusOfError(error: ServiceError): number {
  return statusOf[error.code]
}

export interface ProblemBody {
  type: string
  title: string
  status: number
  detail: string
  code: ErrorCode
  instance?: string
}

export function problemType(code: ErrorCode): string {
  return `urn:concert-waiting-room:problem:${code.toLowerCase().replaceAll('_', '-')}`
}

export function problemBody(code: ErrorCode, detail: string, instance?: string): ProblemBody {
  const body: ProblemBody = { type: problemType(code), title: errorTitles[code], status: statusOf[code], detail, code }
  if (instance) body.instance = instance
  return body
}

/**
 * A problem answered before under an Idempotency-Key: the same status and body, byte for byte, whenever
 * that key is used again (its first answer included). Thrown by the route so that it leaves through the
 * edge like every other problem.
 */
export class RememberedProblem extends Error {
  constructor(
    readonly status: number,
    readonly body: ProblemBody,
    readonly replayed: boolean,
  ) {
    super(body.detail)
  }
}

export function problemResponse(problem: ServiceError | RememberedProblem, instance?: string): Response {
  // A refusal is about this request: no cache may keep it.
  const headers: Record<string, string> = { 'content-type': 'application/problem+json', 'cache-control': 'no-store' }
  // RFC 9110: a 401 names the scheme that would work. Every 401 here (user token, queue token, admin key)
  // is cured by credentials sent as the API documents them; the bearer user token comes first.
  if (statusOf[problem instanceof RememberedProblem ? 'VALIDATION_FAILED' : problem.code] === 401) {
    headers['www-authenticate'] = 'Bearer realm="concert-waiting-room"'
  }
  if (problem instanceof RememberedProblem) {
    if (problem.replayed) headers['idempotent-replayed'] = 'true'
    return new Response(JSON.stringify(problem.body), { status: problem.status, headers })
  }
  if (problem.retryAfterSeconds !== undefined) headers['retry-after'] = String(problem.retryAfterSeconds)
  return new Response(JSON.stringify(problemBody(problem.code, problem.message, instance)), {
    status: statusOf[problem.code],
    headers,
  })
}
