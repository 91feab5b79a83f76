import { Redis } from '@upstash/redis'
import { RedisReplyError, RedisUnavailableError, withDeadline, type RedisTransport } from './transport'

// Redis over the Upstash REST API (UPSTASH_REDIS_REST_URL / _TOKEN) with @upstash/redis. Every request
// carries its own timeout and is not retried: the store answers 503 fast and the client retries.
// Concurrent calls are batched into one /pipeline request by the library's auto-pipelining.
export function restTransport(url: string, token: string, options: { timeoutMs?: number } = {}): RedisTransport {
  const timeoutMs = options.timeoutMs ?? 1500
  const redis = new Redis({
    url,
    token,
    retry: { retries: 0 },
    signal: () => AbortSignal.timeout(timeoutMs),
    automaticDeserialization: false,
    // The library's default (in 1.39), said here because the REST store's speed rests on it: the calls of
    // concurrent requests go out as one /pipeline request instead of one HTTP request each.
    enableAutoPipelining: true,
    enableTelemetry: false,
  })

  async function send<T>(what: string, call: () => Promise<T>): Promise<T> {
    const work = call().catch((error: unknown) => {
      // UpstashError carries the server's error text: a Redis error reply, or the REST front's refusal.
      if (error instanceof Error && error.name === 'UpstashError') throw new RedisReplyError(error.message, { cause: error })
      throw new RedisUnavailableError(`Redis (REST) is unreachable: ${error instanceof Error ? error.message : String(error)}`, {
        cause: error,
      })
    })
    return withDeadline(work, timeoutMs, `Redis (REST) ${what}`)
  }

  return {
    kind: 'redis-rest',
    evalsha: (sha, keys, args) => send('EVALSHA', () => redis.evalsha(sha, keys, args)),
    eval: (script, keys, args) => send('EVAL', () => redis.eval(script, keys, args)),
    async members(keys) {
      const sets = await Promise.all(keys.map((key) => send('SMEMBERS', () => redis.smembers(key))))
      return sets.flat().map(String)
    },
    async ping() {
      await send('PING', () => redis.ping())
    },
    async close() {},
  }
}
