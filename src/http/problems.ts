// One registry of error codes, mapped to HTTP in one place. Services throw Problem; the HTTP edge turns
// it into application/problem+json (RFC 9457).

export const problemCatalogue = {
  VALIDATION_FAILED: { status: 400, title: 'The request is not valid' },
  UNAUTHENTICATED: { status: 401, title: 'A valid bearer token is required' },
  QUEUE_TOKEN_INVALID: { status: 401, title: 'The queue token is missing or not valid' },
  QUEUE_NOT_ACTIVE: { status: 403, title: 'The queue session is not active for this concert' },
  NOT_FOUND: { status: 404, title: 'Not found' },
  METHOD_NOT_ALLOWED: { status: 405, title: 'Method not allowed' },
  SEAT_UNAVAILABLE: { status: 409, title: 'The seat is held or sold' },
  HOLD_LIMIT_REACHED: { status: 409, title: 'Too many live holds' },
  HOLD_EXPIRED: { status: 409, title: 'The hold has lapsed or was cancelled' },
  ALREADY_PAID: { status: 409, title: 'The reservation is already paid' },
  INSUFFICIENT_BALANCE: { status: 402, title: 'The balance is lower than the price' },
  BALANCE_LIMIT: { status: 422, title: 'The charge would exceed the balance limit' },
  SOLD_OUT: { status: 409, title: 'The concert is sold out' },
  IDEMPOTENCY_KEY_REUSED: { status: 422, title: 'The idempotency key was used with a different request' },
  IDEMPOTENCY_IN_PROGRESS: { status: 409, title: 'A request with this idempotency key is still running' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'The request body is too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'The request body must be application/json' },
  RATE_LIMITED: { status: 429, title: 'Too many requests' },
  INTERNAL_ERROR: { status: 500, title: 'Internal error' },
  SERVICE_UNAVAILABLE: { status: 503, title: 'A backing service is unavailable' },
} as const

export type ProblemCode = keyof typeof problemCatalogue

export class Problem extends Error {
  readonly status: number
  readonly retryAfterSeconds: number | undefined

  constructor(
    readonly code: ProblemCode,
    detail?: string,
    options: { retryAfterSeconds?: number; cause?: unknown } = {},
  ) {
    super(detail ?? problemCatalogue[code].title, { cause: options.cause })
    this.status = problemCatalogue[code].status
    this.retryAfterSeconds = options.retryAfterSeconds
  }
}

export interface ProblemBody {
  type: string
  title: string
  status: number
  detail: string
  code: ProblemCode
  instance?: string
}

export function problemType(code: ProblemCode): string {
  return `urn:concert-waiting-room:problem:${code.toLowerCase().replaceAll('_', '-')}`
}

export function problemBody(code: ProblemCode, detail: string, instance?: string): ProblemBody {
  const { status, title } = problemCatalogue[code]
  const body: ProblemBody = { type: problemType(code), title, status, detail, code }
  if (instance) body.instance = instance
  return body
}

export function problemResponse(problem: Problem, instance?: string): Response {
  const headers: Record<string, string> = { 'content-type': 'application/problem+json' }
  if (problem.retryAfterSeconds !== undefined) headers['retry-after'] = String(problem.retryAfterSeconds)
  return new Response(JSON.stringify(problemBody(problem.code, problem.message, instance)), {
    status: problem.status,
    headers,
  })
}
