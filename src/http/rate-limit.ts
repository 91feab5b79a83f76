// Per-user request budget: a token bucket per user id, kept in this instance's memory. With N instances
// behind a load balancer a user can spend up to N times the budget; the queue and the database stay
// the real bounds. Memory is bounded: idle buckets are full buckets, so they are simply forgotten.
// A full map forgets its idle buckets, and only if they are fewer than a tenth of it (more users spending
// their budgets at once than it holds) every bucket: clearing it outright, as it did, also gave back
// their whole budget to the users who were spending theirs, every time 200,000 others had come by.
export interface RateLimiter {
  /** Takes one request from the key's budget; returns 0 if allowed, else the seconds to wait. */
  take(key: string): number
  /**
   * The IETF RateLimit / RateLimit-Policy header values (draft-ietf-httpapi-ratelimit-headers) for the
   * key after its last take, or null when there is no limit. The bucket is described as a quota of
   * `burst` requests per `burst / perSecond` seconds: that is how long an empty bucket takes to refill.
   */
  headers(key: string): { rateLimit: string; policy: string } | null
}

const BUCKET_LIMIT = 200_000
const POLICY = '"per-user"'

export interface RateLimitOptions {
  perSecond: number
  burst: number
  /** Buckets kept at most (default 200,000). */
  limit?: number
  now?: () => number
}

export function rateLimiter({ perSecond, burst, limit = BUCKET_LIMIT, now: clock = () => performance.now() }: RateLimitOptions): RateLimiter {
  if (perSecond <= 0) return { take: () => 0, headers: () => null }
  const buckets = new Map<string, { tokens: number; at: number }>()
  /** The bucket's tokens at `now`, refilled since it was last spent from. */
  const tokensAt = (bucket: { tokens: number; at: number }, now: number) => Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * perSecond)
  const makeRoom = (now: number) => {
    for (const [key, bucket] of buckets) {
      if (tokensAt(bucket, now) >= burst) buckets.delete(key)
    }
    if (buckets.size > limit * 0.9) buckets.clear()
  }
  const policy = `${POLICY};q=${burst};w=${Math.max(1, Math.ceil(burst / perSecond))}`
  return {
    take(key) {
      const now = clock()
      let bucket = buckets.get(key)
      if (!bucket) {
        if (buckets.size >= limit) makeRoom(now)
        bucket = { tokens: burst, at: now }
        buckets.set(key, bucket)
      }
      bucket.tokens = tokensAt(bucket, now)
      bucket.at = now
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1
        return 0
      }
      return Math.max(1, Math.ceil((1 - bucket.tokens) / perSecond))
    },
    headers(key) {
      const bucket = buckets.get(key)
      const tokens = bucket ? bucket.tokens : burst
      // r: requests left now; t: seconds until the bucket is full again.
      const reset = Math.ceil((burst - tokens) / perSecond)
      return { rateLimit: `${POLICY};r=${Math.floor(tokens)};t=${reset}`, policy }
    },
  }
}
