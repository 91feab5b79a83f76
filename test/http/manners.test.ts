import { describe, expect, test } from 'bun:test'
import { brotliDecompressSync } from 'node:zlib'
import { ConfigError, loadConfig } from '../../src/config'
import { ADMIN_KEY, call, onFreshDatabase, testServer } from '../support/app'
import { createConcert, hold, join, shopper, userToken } from '../support/scenario'
import { describeWith } from '../support/services'

const ORIGIN = 'https://tickets.example.com'

async function raw(server: { app: { handle(r: Request): Promise<Response> } }, path: string, init: RequestInit = {}) {
  const response = await server.app.handle(new Request(`http://localhost${path}`, init))
  return { response, bytes: new Uint8Array(await response.arrayBuffer()) }
}

describeWith(['DATABASE_URL'], 'HTTP manners', () => {
  const ctx = onFreshDatabase({ CORS_ORIGINS: `${ORIGIN},http://localhost:5173`, RATE_LIMIT_PER_SECOND: '20', RATE_LIMIT_BURST: '40' })

  test('a known path asked with a method it does not serve is a 405 with Allow; an unknown path stays 404', async () => {
    const put = await call(ctx.server, '/v1/concerts', { method: 'PUT', body: {} })
    expect(put.status).toBe(405)
    expect(put.headers.get('allow')).toBe('GET, HEAD, OPTIONS')
    expect(put.headers.get('content-type')).toBe('application/problem+json')
    expect(put.body.code).toBe('METHOD_NOT_ALLOWED')
    const reservation = await call(ctx.server, `/v1/reservations/${crypto.randomUUID()}`, { method: 'PATCH', body: {} })
    expect(reservation.status).toBe(405)
    expect(reservation.headers.get('allow')).toBe('DELETE, GET, HEAD, OPTIONS')
    const options = await call(ctx.server, '/v1/balance/charges', { method: 'OPTIONS' })
    expect(options.status).toBe(204)
    expect(options.headers.get('allow')).toBe('OPTIONS, POST')
    const unknown = await call(ctx.server, '/v1/concerts-and-more', { method: 'PUT', body: {} })
    expect(unknown.status).toBe(404)
    expect(unknown.headers.get('allow')).toBeNull()
  })

  test('CORS: preflights from CORS_ORIGINS get the methods and headers of the API; other origins get nothing', async () => {
    const preflight = (origin: string, path = '/v1/reservations') =>
      call(ctx.server, path, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, x-queue-token, content-type' },
      })
    const allowed = await preflight(ORIGIN)
    expect(allowed.status).toBe(204)
    expect(allowed.headers.get('x-request-id')).toBeTruthy()
    expect(allowed.headers.get('access-control-allow-origin')).toBe(ORIGIN)
    expect(allowed.headers.get('access-control-allow-methods')).toContain('POST')
    const allowHeaders = allowed.headers.get('access-control-allow-headers')!.toLowerCase()
    // last-event-id: the status stream's EventSource sends it when it reconnects (helper-37).
    for (const h of ['authorization', 'x-queue-token', 'idempotency-key', 'content-type', 'if-none-match', 'last-event-id']) expect(allowHeaders).toContain(h)
    expect(allowed.headers.get('vary')).toContain('Origin')

    const stranger = await preflight('https://evil.example.net')
    expect(stranger.headers.get('access-control-allow-origin')).toBeNull()
    // An origin that differs only by a trailing slash or the scheme is another origin.
    expect((await preflight('http://tickets.example.com')).headers.get('access-control-allow-origin')).toBeNull()
    expect((await preflight(ORIGIN, '/v1/no-such-path')).status).toBe(404)

    const read = await call(ctx.server, '/v1/concerts', { headers: { origin: ORIGIN } })
    expect(read.headers.get('access-control-allow-origin')).toBe(ORIGIN)
    // A cache in between must not hand this answer (with its allow-origin) to another origin.
    expect(read.headers.get('vary')).toContain('Origin')
    const exposed = read.headers.get('access-control-expose-headers')!
    for (const h of ['X-Request-Id', 'Retry-After', 'Location', 'ETag', 'Idempotent-Replayed', 'RateLimit', 'RateLimit-Policy']) expect(exposed).toContain(h)
    const problem = await call(ctx.server, '/v1/balance', { headers: { origin: ORIGIN } })
    expect(problem.status).toBe(401)
    expect(problem.headers.get('access-control-allow-origin')).toBe(ORIGIN)
    // The edge's early refusals too: a page can read why its request was refused.
    const notJson = await call(ctx.server, '/v1/queue/tokens', { rawBody: 'concertId=1', headers: { origin: ORIGIN, 'content-type': 'text/plain' } })
    expect(notJson.status).toBe(415)
    expect(notJson.headers.get('access-control-allow-origin')).toBe(ORIGIN)
    expect(notJson.headers.get('x-request-id')).toBeTruthy()
    const tooLarge = await call(ctx.server, '/v1/queue/tokens', { rawBody: 'x'.repeat(20_000), headers: { origin: ORIGIN, 'content-type': 'application/json' } })
    expect(tooLarge.status).toBe(413)
    expect(tooLarge.headers.get('access-control-allow-origin')).toBe(ORIGIN)
    expect((await call(ctx.server, '/v1/concerts', { headers: { origin: 'https://evil.example.net' } })).headers.get('access-control-allow-origin')).toBeNull()
  })

  test('every 401 names its scheme in WWW-Authenticate', async () => {
    const noToken = await call(ctx.server, '/v1/balance')
    expect(noToken.status).toBe(401)
    expect(noToken.headers.get('www-authenticate')).toStartWith('Bearer')
    const token = await userToken(ctx.server, 'www-auth')
    const badQueueToken = await call(ctx.server, '/v1/queue/status', { token, queueToken: 'forged.token' })
    expect(badQueueToken.status).toBe(401)
    expect(badQueueToken.headers.get('www-authenticate')).toStartWith('Bearer')
    expect((await call(ctx.server, '/v1/balance', { token })).headers.get('www-authenticate')).toBeNull()
  })

  test('a 201 that made something readable says where in Location, and it reads', async () => {
    const created = await call(ctx.server, '/v1/admin/concerts', {
      headers: { 'x-admin-key': ADMIN_KEY },
      body: { title: 'Located', schedules: [{ startsAt: '2027-03-01T19:00:00Z', seatCount: 5, price: 100 }] },
    })
    expect(created.headers.get('location')).toBe(`/v1/concerts/${created.body.concertId}/schedules`)
    const concertId = created.body.concertId
    const token = await userToken(ctx.server, 'located')
    const joined = await call(ctx.server, '/v1/queue/tokens', { token, body: { concertId } })
    expect(joined.status).toBe(201)
    expect(joined.headers.get('location')).toBe('/v1/queue/status')
    const again = await call(ctx.server, '/v1/queue/tokens', { token, body: { concertId } })
    expect(again.status).toBe(200)
    expect(again.headers.get('location')).toBeNull()

    const buyer = await shopper(ctx.server, 'located-buyer', concertId)
    const held = await hold(ctx.server, buyer, created.body.schedules[0].scheduleId, 1)
    expect(held.status).toBe(201)
    const location = held.headers.get('location')!
    expect(location).toBe(`/v1/reservations/${held.body.reservationId}`)
    const read = await call(ctx.server, location, { token: buyer.token })
    expect(read.status).toBe(200)
    expect(read.body).toEqual(held.body)
  })

  test('catalogue reads carry a strong ETag; If-None-Match with it is a 304 with no body until the answer changes', async () => {
    const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 20 })
    const buyer = await shopper(ctx.server, 'etag-buyer', concertId)
    const reads = [
      { path: '/v1/concerts?limit=100', auth: {}, cacheControl: 'public, max-age=5' },
      { path: `/v1/concerts/${concertId}/schedules`, auth: buyer, cacheControl: 'private, no-cache' },
      { path: `/v1/schedules/${scheduleIds[0]}/seats`, auth: buyer, cacheControl: 'private, no-cache' },
    ]
    const tags: string[] = []
    for (const { path, auth, cacheControl } of reads) {
      const first = await call(ctx.server, path, auth)
      expect(first.status).toBe(200)
      const etag = first.headers.get('etag')!
      expect(etag).toMatch(/^"[^"]+"$/) // strong: no W/
      expect(first.headers.get('cache-control')).toBe(cacheControl)
      const again = await call(ctx.server, path, { ...auth, headers: { 'if-none-match': etag } })
      expect(again.status).toBe(304)
      expect(again.text).toBe('')
      expect(again.headers.get('etag')).toBe(etag)
      expect((await call(ctx.server, path, { ...auth, headers: { 'if-none-match': `"other", W/${etag}` } })).status).toBe(304)
      expect((await call(ctx.server, path, { ...auth, headers: { 'if-none-match': '"stale"' } })).status).toBe(200)
      tags.push(etag)
    }
    // A hold changes the seat map and the schedule's free seats: the old tags no longer match.
    expect((await hold(ctx.server, buyer, scheduleIds[0]!, 3)).status).toBe(201)
    for (const [i, { path, auth }] of reads.slice(1).entries()) {
      const after = await call(ctx.server, path, { ...auth, headers: { 'if-none-match': tags[i + 1]! } })
      expect(after.status).toBe(200)
      expect(after.headers.get('etag')).not.toBe(tags[i + 1])
    }
    // A guarded read is never answered 304 to someone without access, whatever tag they send.
    const stranger = await call(ctx.server, reads[2]!.path, { headers: { 'if-none-match': tags[2]! } })
    expect(stranger.status).toBe(401)
  })

  test('the ETag of a shared answer is the same on every instance: a tag from one is a 304 on another', async () => {
    const other = await testServer({ DATABASE_URL: ctx.db.url, CATALOGUE_CACHE_MS: '5000' })
    try {
      const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 30 })
      const buyer = await shopper(ctx.server, 'two-instances', concertId)
      // The queue store of these suites is Postgres, shared by both instances: the session is ACTIVE on both.
      const path = `/v1/schedules/${scheduleIds[0]}/seats`
      const fromA = await call(ctx.server, path, buyer)
      const fromB = await call(other, path, buyer)
      expect(fromB.headers.get('etag')).toBe(fromA.headers.get('etag'))
      expect((await call(other, path, { ...buyer, headers: { 'if-none-match': fromA.headers.get('etag')! } })).status).toBe(304)
    } finally {
      await other.stop()
    }
  })

  test('a page of the concert list is one shared answer per cache window, then read again', async () => {
    const cached = await testServer({ DATABASE_URL: ctx.db.url, CATALOGUE_CACHE_MS: '300' })
    try {
      const first = await call(cached, '/v1/concerts?limit=100')
      await createConcert(ctx.server, { title: 'Added meanwhile' })
      const within = await call(cached, '/v1/concerts?limit=100')
      expect(within.headers.get('etag')).toBe(first.headers.get('etag'))
      await Bun.sleep(350)
      const after = await call(cached, '/v1/concerts?limit=100')
      expect(after.headers.get('etag')).not.toBe(first.headers.get('etag'))
      expect(after.body.map((c: any) => c.title)).toContain('Added meanwhile')
    } finally {
      await cached.stop()
    }
  })

  test('Cache-Control by kind: tokens, queue status, balance and history are no-store; own reservations private', async () => {
    const { concertId } = await createConcert(ctx.server)
    const token = await userToken(ctx.server, 'cache-kinds')
    const joined = await call(ctx.server, '/v1/queue/tokens', { token, body: { concertId } })
    expect(joined.headers.get('cache-control')).toBe('no-store')
    expect((await call(ctx.server, '/v1/queue/status', { token, queueToken: joined.body.token })).headers.get('cache-control')).toBe('no-store')
    expect((await call(ctx.server, '/v1/balance', { token })).headers.get('cache-control')).toBe('no-store')
    expect((await call(ctx.server, '/v1/balance/history', { token })).headers.get('cache-control')).toBe('no-store')
    expect((await call(ctx.server, '/v1/dev/user-tokens', { body: { userId: 'x' } })).headers.get('cache-control')).toBe('no-store')
    expect((await call(ctx.server, '/v1/reservations', { token })).headers.get('cache-control')).toBe('private, no-cache')
    expect((await call(ctx.server, '/v1/balance', {})).headers.get('cache-control')).toBe('no-store') // a problem too
  })

  test('answers over 1 KiB are compressed with br or gzip as the client accepts; smaller ones and refusers get identity', async () => {
    const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 50 })
    const buyer = await shopper(ctx.server, 'compressed', concertId)
    const path = `/v1/schedules/${scheduleIds[0]}/seats`
    const headers = (acceptEncoding?: string) => ({
      authorization: `Bearer ${buyer.token}`,
      'x-queue-token': buyer.queueToken,
      ...(acceptEncoding ? { 'accept-encoding': acceptEncoding } : {}),
    })
    const plain = await raw(ctx.server, path, { headers: headers() })
    expect(plain.response.headers.get('content-encoding')).toBeNull()
    expect(plain.bytes.byteLength).toBeGreaterThan(1024)
    const text = new TextDecoder().decode(plain.bytes)

    const br = await raw(ctx.server, path, { headers: headers('gzip, deflate, br') })
    expect(br.response.headers.get('content-encoding')).toBe('br')
    expect(br.response.headers.get('vary')).toContain('Accept-Encoding')
    expect(new TextDecoder().decode(brotliDecompressSync(br.bytes))).toBe(text)
    expect(br.bytes.byteLength).toBeLessThan(plain.bytes.byteLength / 4)

    const gzip = await raw(ctx.server, path, { headers: headers('gzip') })
    expect(gzip.response.headers.get('content-encoding')).toBe('gzip')
    expect(new TextDecoder().decode(Bun.gunzipSync(gzip.bytes))).toBe(text)
    expect((await raw(ctx.server, path, { headers: headers('br;q=0, gzip;q=0') })).response.headers.get('content-encoding')).toBeNull()

    // Per-request JSON over 1 KiB (a ledger page) is compressed too; a small one is not.
    for (let i = 1; i <= 8; i++) await call(ctx.server, '/v1/balance/charges', { token: buyer.token, body: { amount: i } })
    const list = await raw(ctx.server, '/v1/balance/history', { headers: headers('gzip, br') })
    expect(list.response.headers.get('content-encoding')).toBe('gzip')
    // The same media type as the answer sent as it is (a hostile probe saw the charset dropped when compressed).
    const listPlain = await raw(ctx.server, '/v1/balance/history', { headers: headers() })
    expect(list.response.headers.get('content-type')).toBe(listPlain.response.headers.get('content-type')!)
    expect(JSON.parse(new TextDecoder().decode(Bun.gunzipSync(list.bytes))).entries).toHaveLength(8)
    const small = await raw(ctx.server, '/v1/balance', { headers: headers('gzip') })
    expect(small.response.headers.get('content-encoding')).toBeNull()
    // A small answer to a client that accepts compression keeps its status, type and body.
    const charged = await raw(ctx.server, '/v1/balance/charges', {
      method: 'POST',
      headers: { ...headers('gzip, br'), 'content-type': 'application/json' },
      body: JSON.stringify({ amount: 5 }),
    })
    expect(charged.response.status).toBe(201)
    expect(charged.response.headers.get('content-type')).toStartWith('application/json')
    expect(charged.response.headers.get('content-encoding')).toBeNull()
    expect(JSON.parse(new TextDecoder().decode(charged.bytes))).toMatchObject({ amount: 5 })
  })

  test('rate-limited routes carry RateLimit and RateLimit-Policy; the 429 says r=0 and Retry-After', async () => {
    const token = await userToken(ctx.server, 'budget')
    const first = await call(ctx.server, '/v1/balance', { token })
    expect(first.headers.get('ratelimit-policy')).toBe('"per-user";q=40;w=2')
    expect(first.headers.get('ratelimit')).toMatch(/^"per-user";r=39;t=1$/)
    const { concertId } = await createConcert(ctx.server)
    const { token: queueToken } = await join(ctx.server, token, concertId)
    // A status stream spends the budget of the user its queue token names, and says so (helper-60: its
    // answers carried no RateLimit headers).
    const opened = await ctx.server.app.handle(new Request(`http://localhost/v1/queue/events?token=${encodeURIComponent(queueToken)}`))
    expect([opened.status, opened.headers.get('ratelimit-policy')]).toEqual([200, '"per-user";q=40;w=2'])
    expect(opened.headers.get('ratelimit')).toMatch(/^"per-user";r=\d+;t=\d+$/)
    await opened.body?.cancel()
    let last = first
    for (let i = 0; i < 45 && last.status !== 429; i++) last = await call(ctx.server, '/v1/balance', { token })
    expect(last.status).toBe(429)
    expect(last.headers.get('ratelimit')).toMatch(/^"per-user";r=0;t=\d+$/)
    expect(Number(last.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    // Opening a status stream spends the budget of the user its queue token names: a 429 too (documented
    // in OpenAPI since a hostile probe found it was not: test/system/openapi/openapi-client.test.ts).
    const stream = await call(ctx.server, `/v1/queue/events?token=${encodeURIComponent(queueToken)}`)
    expect(stream.status).toBe(429)
    expect(stream.headers.get('content-type')).toBe('application/problem+json')
    expect(stream.body.code).toBe('RATE_LIMITED')
    expect(Number(stream.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    expect(stream.headers.get('ratelimit')).toMatch(/^"per-user";r=0;t=\d+$/)
    expect(stream.headers.get('ratelimit-policy')).toBe('"per-user";q=40;w=2')
    // A stream refused for its token spent nothing, and says nothing of a budget.
    expect((await call(ctx.server, '/v1/queue/events?token=forged.token')).headers.get('ratelimit')).toBeNull()
    // Public routes spend no budget and say nothing about one.
    expect((await call(ctx.server, '/v1/concerts')).headers.get('ratelimit')).toBeNull()
  })

  test('unbounded lists take limit + cursor and name the next page in Link; bodies keep their shapes', async () => {
    const follow = async (first: string, auth: { token?: string } = {}) => {
      const pages: any[] = []
      let next: string | null = first
      while (next) {
        const page: { status: number; body: any; headers: Headers } = await call(ctx.server, next, auth)
        expect(page.status).toBe(200)
        pages.push(page.body)
        next = /^<([^>]+)>; rel="next"$/.exec(page.headers.get('link') ?? '')?.[1] ?? null
      }
      return pages
    }
    const concerts = (await follow('/v1/concerts?limit=2')).flat()
    const all = (await call(ctx.server, '/v1/concerts?limit=100')).body
    expect(concerts.map((c: any) => c.concertId)).toEqual(all.map((c: any) => c.concertId))
    expect(all.length).toBeGreaterThan(2)

    const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 10 })
    const buyer = await shopper(ctx.server, 'pager', concertId, 0)
    for (const seat of [1, 2, 3]) {
      expect((await hold(ctx.server, buyer, scheduleIds[0]!, seat)).status).toBe(201)
      // A hold's createdAt is to the millisecond, and two holds of one millisecond are ordered by id: on a
      // fast box two of these landed in one (1 run in 8 of test/http read [2, 3, 1]).
      await Bun.sleep(2)
    }
    const reservationPages = await follow('/v1/reservations?limit=2', buyer)
    expect(reservationPages.map((p) => p.length)).toEqual([2, 1])
    expect(reservationPages.flat().map((r: any) => r.seatNumber)).toEqual([3, 2, 1])

    for (const amount of [1, 2, 3]) await call(ctx.server, '/v1/balance/charges', { token: buyer.token, body: { amount } })
    const history = await follow('/v1/balance/history?limit=2', buyer)
    expect(history.map((p) => p.entries.length)).toEqual([2, 1])
    expect(history[0].nextCursor).toEqual(expect.any(String))
    expect(history[1].nextCursor).toBeNull()

    // Hostile cursors and sizes: 400, and another user's reservation as a cursor reveals nothing.
    for (const bad of ['?cursor=nonsense', '?limit=0', '?limit=101', `?cursor=${crypto.randomUUID()}`]) {
      const reply = await call(ctx.server, `/v1/reservations${bad}`, buyer)
      expect(reply.status).toBe(400)
      expect(reply.body.code).toBe('VALIDATION_FAILED')
    }
    const theirs = /cursor=([^&>]+)/.exec((await call(ctx.server, '/v1/reservations?limit=1', buyer)).headers.get('link')!)![1]!
    const other = await userToken(ctx.server, 'pager-other')
    expect((await call(ctx.server, `/v1/reservations?cursor=${theirs}`, { token: other })).body).toEqual([])
  })
})

describe('configuration of the HTTP manners', () => {
  const base = { DATABASE_URL: 'postgres://localhost/x', AUTH_JWT_SECRET: 'test-secret-0123456789abcdef' }
  test('CORS_ORIGINS takes exact origins; anything else stops the start naming the variable', () => {
    expect(loadConfig({ ...base, CORS_ORIGINS: 'https://a.example, http://localhost:5173' }).corsOrigins).toEqual(['https://a.example', 'http://localhost:5173'])
    expect(loadConfig(base).corsOrigins).toEqual([])
    for (const bad of ['*', 'https://a.example/', 'https://a.example/path', 'ftp://a.example', 'a.example']) {
      expect(() => loadConfig({ ...base, CORS_ORIGINS: bad }), bad).toThrow(ConfigError)
      expect(() => loadConfig({ ...base, CORS_ORIGINS: bad })).toThrow(/CORS_ORIGINS/)
    }
  })

  test('METRICS_PORT is a port other than PORT', () => {
    expect(loadConfig({ ...base, METRICS_PORT: '9464' }).metricsPort).toBe(9464)
    expect(loadConfig(base).metricsPort).toBeNull()
    expect(() => loadConfig({ ...base, PORT: '3000', METRICS_PORT: '3000' })).toThrow(/METRICS_PORT/)
    expect(() => loadConfig({ ...base, METRICS_PORT: 'ninety' })).toThrow(/METRICS_PORT/)
  })
})
