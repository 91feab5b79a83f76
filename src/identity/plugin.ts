import { Elysia } from 'elysia'
import { ServiceError } from '../errors'
import type { RateLimiter } from '../http/rate-limit'
import type { UserTokens } from './user-tokens'

/** Who is calling (verified bearer tokens) and how often they may call. */
export interface Users {
  tokens: UserTokens
  limiter: RateLimiter
}

/**
 * Spends one request of the user's budget: the RateLimit headers go on the answer whatever it is, and a
 * spent budget is a 429 (every route that spends it: the bearer routes, and the status stream).
 */
export function spendBudget(limiter: RateLimiter, userId: string, set: { headers: Record<string, unknown> }) {
  const wait = limiter.take(userId)
  const budget = limiter.headers(userId)
  if (budget) {
    set.headers.ratelimit = budget.rateLimit
    set.headers['ratelimit-policy'] = budget.policy
  }
  if (wait > 0) throw new ServiceError('RATE_LIMITED', `Too many requests; retry in ${wait} s`, { retryAfterSeconds: wait })
}

// `{ auth: true }` on a route resolves `userId` from the verified bearer token, or answers 401, then
// spends one request of the user's budget (429 + Retry-After when it is empty).
// The user id always comes from the token, never from a body or a path. The checks run in the transform
// phase, before the body is validated, so a stranger learns nothing about the request shape.
export function identity({ tokens, limiter }: Users) {
  const verified = new WeakMap<Request, string>()
  return new Elysia({ name: 'identity' }).macro({
    auth: {
      // Synchronous (nothing here waits), so Elysia does not await it on every request.
      transform({ request, set }) {
        const userId = tokens.verify(request.headers.get('authorization'))
        spendBudget(limiter, userId, set)
        verified.set(request, userId)
      },
      resolve({ request }) {
        return { userId: verified.get(request)! }
      },
    },
  })
}
