import { RedisClient } from 'bun'
import { RedisReplyError, RedisUnavailableError, withDeadline, type RedisTransport } from './transport'

// Redis over TCP (REDIS_URL) with Bun's built-in client. The client never queues commands while it is
// disconnected and never retries by itself: a call made while Redis is down fails at once (or after
// the connect timeout), and the next call after a short pause connects again, so the store recovers
// by itself when Redis comes back. A call that gets no answer in time drops the connection, since a
// connection that stopped answering would otherwise hold every later command hostage.
const RECONNECT_PAUSE_MS = 250

export function tcpTransport(url: string, options: { timeoutMs?: number } = {}): RedisTransport {
  const timeoutMs = options.timeoutMs ?? 1500
  const client = new RedisClient(url, {
    connectionTimeout: timeoutMs,
    autoReconnect: false,
    enableOfflineQueue: false,
    enableAutoPipelining: true,
  })
  let connecting: Promise<void> | null = null
  let failedAt = 0
  let closed = false

  const unavailable = (error: unknown) =>
    new RedisUnavailableError(`Redis (TCP) is unreachable: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    })

  function connected(): Promise<void> {
    if (client.connected) return Promise.resolve()
    if (closed) return Promise.reject(new RedisUnavailableError('the Redis client is closed'))
    if (!connecting) {
      if (Date.now() - failedAt < RECONNECT_PAUSE_MS) {
        return Promise.reject(new RedisUnavailableError('Redis (TCP) is unreachable; retrying shortly'))
      }
      connecting = client
        .connect()
        .catch((error) => {
          failedAt = Date.now()
          throw unavailable(error)
        })
        .finally(() => {
          connecting = null
        })
    }
    return connecting
  }

  async function send(command: string, args: string[]): Promise<unknown> {
    const work = (async () => {
      await connected()
      try {
        return await client.send(command, args)
      } catch (error) {
        if ((error as { code?: string }).code === 'ERR_REDIS_SERVER_ERROR') {
          throw new RedisReplyError((error as Error).message, { cause: error })
        }
        throw unavailable(error)
      }
    })()
    return withDeadline(work, timeoutMs, `Redis (TCP) ${command}`, () => {
      failedAt = Date.now()
      client.close()
    })
  }

  return {
    kind: 'redis-tcp',
    evalsha: (sha, keys, args) => send('EVALSHA', [sha, String(keys.length), ...keys, ...args]),
    eval: (script, keys, args) => send('EVAL', [script, String(keys.length), ...keys, ...args]),
    async members(keys) {
      const sets = await Promise.all(keys.map((key) => send('SMEMBERS', [key])))
      return (sets as string[][]).flat().map(String)
    },
    async ping() {
      await send('PING', [])
    },
    async close() {
      closed = true
      client.close()
    },
  }
}
