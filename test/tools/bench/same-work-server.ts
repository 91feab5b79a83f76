import { Elysia } from 'elysia'
import { timingSafeEqual } from 'node:crypto'

// The join's floor on this stack: bare Elysia doing only the work a join cannot do without, written
// with none of our code, so that it can show how much of a join our code costs (TARGETS.md: a ceiling
// made of our own functions cannot show that they are slow). Per request: the HS256 bearer token of a
// user never seen before verified (signature, payload parsed), the JSON body parsed, one Lua script in
// Redis (the next number of the line, the place, its rank: one round trip, as ours is), a queue token
// signed, and a 201 with Location and a small JSON answer. Not done: no request id, log line, metrics,
// validation of the id, rate limit, idle sweep, pace, group commit or caches - what the service adds.

const port = Number(process.env.PORT ?? 0)
const userKey = new Bun.CryptoHasher('sha256', process.env.AUTH_SECRET ?? '')
const queueKey = new Bun.CryptoHasher('sha256', `queue-${process.env.AUTH_SECRET ?? ''}`)
const redis = new Bun.RedisClient(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379')
const JOIN = `local seq = redis.call('INCR', KEYS[1])
redis.call('ZADD', KEYS[2], 'NX', seq, ARGV[1])
return {seq, redis.call('ZRANK', KEYS[2], ARGV[1])}`
const join = String(await redis.send('SCRIPT', ['LOAD', JOIN]))
const utf8 = new TextDecoder('utf-8', { fatal: true })

function userOf(authorization: string | null): string | null {
  if (!authorization?.startsWith('Bearer ')) return null
  const token = authorization.slice(7)
  const dot = token.lastIndexOf('.')
  const expected = userKey.copy().update(token.slice(0, dot)).digest() as Buffer
  const given = Buffer.from(token.slice(dot + 1), 'base64url')
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null
  const claims = JSON.parse(utf8.decode(Buffer.from(token.slice(token.indexOf('.') + 1, dot), 'base64url')))
  return typeof claims.sub === 'string' && claims.exp > Date.now() / 1000 ? claims.sub : null
}

new Elysia()
  .get('/', () => ({ status: 'ok', service: 'bench-same-work' }))
  .post(
    '/v1/queue/tokens',
    async ({ request, body, set }) => {
      const userId = userOf(request.headers.get('authorization'))
      if (userId === null) return new Response(null, { status: 401 })
      const { concertId } = body as { concertId: string }
      const keys = [`same-work:{${concertId}}:seq`, `same-work:{${concertId}}:line`]
      const [seq, rank] = (await redis.send('EVALSHA', [join, '2', ...keys, userId])) as [number, number]
      const payload = Buffer.from(JSON.stringify({ c: concertId, u: userId, s: seq })).toString('base64url')
      const token = `${payload}.${(queueKey.copy().update(payload).digest() as Buffer).toString('base64url')}`
      set.status = 201
      set.headers.location = '/v1/queue/status'
      const position = rank + 1
      return { concertId, status: 'WAITING', position, estimatedWaitSeconds: Math.ceil(position / 50), activeUntil: null, pollAfterMs: 5000, opensAt: null, token }
    },
    { parse: 'json' },
  )
  .listen({ port, hostname: '127.0.0.1' })
