// What can go wrong, in one registry: every refusal and failure the service reports has a stable code
// and a title. Services, stores and the database layer throw ServiceError; they know nothing of HTTP.
// The HTTP edge (src/http/problems.ts) gives each code its status and renders it as problem+json.

export const errorTitles = {
  VALIDATION_FAILED: 'The request is not valid',
  UNAUTHENTICATED: 'Valid credentials are required',
  QUEUE_TOKEN_INVALID: 'The queue token is missing or not valid',
  QUEUE_NOT_ACTIVE: 'The queue session is not active for this concert',
  NOT_FOUND: 'Not found',
  METHOD_NOT_ALLOWED: 'Method not allowed',
  SEAT_UNAVAILABLE: 'The seat is held or sold',
  HOLD_LIMIT_REACHED: 'Too many live holds',
  HOLD_EXPIRED: 'The hold has lapsed or was cancelled',
  ALREADY_PAID: 'The reservation is already paid',
  INSUFFICIENT_BALANCE: 'The balance is lower than the price',
  BALANCE_LIMIT: 'The charge would exceed the balance limit',
  SOLD_OUT: 'The concert is sold out',
  IDEMPOTENCY_KEY_REUSED: 'The idempotency key was used with a different request',
  IDEMPOTENCY_IN_PROGRESS: 'A request with this idempotency key is still running',
  PAYLOAD_TOO_LARGE: 'The request body is too large',
  UNSUPPORTED_MEDIA_TYPE: 'The request body must be application/json',
  RATE_LIMITED: 'Too many requests',
  INTERNAL_ERROR: 'Internal error',
  SERVICE_UNAVAILABLE: 'A backing service is unavailable',
} as const

export type ErrorCode = keyof typeof errorTitles

export interface ErrorOptions {
  /** When the caller may try again (rate limits, a backing service that is down). */
  retryAfterSeconds?: number
  cause?: unknown
}

export class ServiceError extends Error {
  readonly retryAfterSeconds: number | undefined

  constructor(
    readonly code: ErrorCode,
    detail?: string,
    options: ErrorOptions = {},
  ) {
    super(detail ?? errorTitles[code], { cause: options.cause })
    this.retryAfterSeconds = options.retryAfterSeconds
  }
}

const unavailableCodes = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'CONNECTION_CLOSED', 'CONNECTION_ENDED',
  'CONNECTION_DESTROYED', 'CONNECT_TIMEOUT', 'ERR_REDIS_CONNECTION_CLOSED',
  // Every pooled Postgres connection stayed busy for DATABASE_QUEUE_TIMEOUT_MS (src/db/client.ts).
  'CONNECTION_QUEUE_TIMEOUT',
])

/**
 * A backing service said it cannot serve now: a connection failed or was closed, or Postgres is shutting
 * down, restarting, out of connections or resources (SQLSTATE classes 08, 57P, 53). Such an error is a
 * 503 with Retry-After, never a 500.
 */
export function unavailable(error: unknown): boolean {
  if (error instanceof ServiceError) return error.code === 'SERVICE_UNAVAILABLE'
  const code = (error as { code?: unknown })?.code
  if (typeof code !== 'string') return false
  return unavailableCodes.has(code) || /^(08|57P|53)/.test(code)
}
