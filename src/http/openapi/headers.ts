import type { Json } from './schema'

// The response headers of the API ("HTTP manners"), documented once as components and referenced by
// every response that carries them.
// `required: true` where every answer of that kind carries the header, so that generated SDKs type it as
// present: a header that depends on the request (a replay, a next page, the limiter being on) stays optional.
export const headerComponents: Json = {
  XRequestId: {
    description: 'The request id: the client\'s X-Request-Id when it sent a sane one, else a new UUID',
    required: true,
    schema: { type: 'string' },
  },
  RetryAfter: { description: 'Seconds to wait before retrying', required: true, schema: { type: 'integer', minimum: 0 } },
  RetryAfterWhileRunning: {
    description: 'On IDEMPOTENCY_IN_PROGRESS: seconds to wait before sending the request again',
    schema: { type: 'integer', minimum: 0 },
  },
  WWWAuthenticate: { description: 'The authentication scheme to use (RFC 9110)', required: true, schema: { type: 'string', example: 'Bearer realm="concert-waiting-room"' } },
  ETag: { description: 'Strong validator of this answer; send it back in If-None-Match', required: true, schema: { type: 'string' } },
  CacheControl: { description: 'How long, and by whom, this answer may be reused (`no-store` on every problem)', required: true, schema: { type: 'string' } },
  Link: { description: 'The next page (RFC 8288), absent on the last page', schema: { type: 'string', example: '</v1/concerts?limit=20&cursor=abc>; rel="next"' } },
  IdempotentReplayed: { description: '`true` when this answer is the replay of an earlier request with the same Idempotency-Key', schema: { type: 'string', enum: ['true'] } },
  RateLimit: {
    description: 'What is left of the caller\'s request budget (IETF draft-ietf-httpapi-ratelimit-headers); absent when the instance runs without a limit',
    schema: { type: 'string', example: '"per-user";r=39;t=1' },
  },
  RateLimitPolicy: {
    description: 'The request budget: q requests per w seconds, refilled continuously; absent when the instance runs without a limit',
    schema: { type: 'string', example: '"per-user";q=40;w=2' },
  },
}

const ref = (name: string) => ({ $ref: `#/components/headers/${name}` })

export interface Manners {
  /** The caller's request budget is spent by this operation (429 and RateLimit headers). */
  rateLimited: boolean
  /** Statuses this operation answers before it spends the budget (beyond the edge's 413 and 415). */
  beforeBudget?: number[]
  /** Honours Idempotency-Key. */
  idempotent: boolean
  /** Answers carry a strong ETag and may be 304 (catalogue reads). */
  conditional: boolean
  /** Takes limit + cursor and names the next page in Link. */
  paged: boolean
  /** What the 201 names in Location, and how it is read; null when it names nothing. */
  located: string | null
}

/** The edge's refusals of a body before anything reads it: the caller's budget is not spent yet. */
const BEFORE_THE_BUDGET = new Set([413, 415])

/** The headers a response of `status` carries for an operation with these manners. */
export function responseHeaders(status: number, m: Manners): Json {
  // Every answer says whether it may be kept: no-store unless the route says otherwise, and on every problem.
  const h: Json = { 'X-Request-Id': ref('XRequestId'), 'Cache-Control': ref('CacheControl') }
  const success = status < 300
  if (m.conditional && (success || status === 304)) h.ETag = ref('ETag')
  if (m.paged && success) h.Link = ref('Link')
  if (m.located !== null && status === 201) h.Location = { description: m.located, required: true, schema: { type: 'string' } }
  if (m.idempotent && (success || status === 402 || status === 409 || status === 422)) h['Idempotent-Replayed'] = ref('IdempotentReplayed')
  if (status === 401) h['WWW-Authenticate'] = ref('WWWAuthenticate')
  if (status === 429 || status === 503) h['Retry-After'] = ref('RetryAfter')
  else if (m.idempotent && status === 409) h['Retry-After'] = ref('RetryAfterWhileRunning')
  // The budget is spent before the route's own checks, so its headers come with their refusals too (a 401
  // of the queue token has them, one of the bearer token, checked first, does not).
  if (m.rateLimited && !BEFORE_THE_BUDGET.has(status) && !m.beforeBudget?.includes(status)) {
    h.RateLimit = ref('RateLimit')
    h['RateLimit-Policy'] = ref('RateLimitPolicy')
  }
  return h
}
