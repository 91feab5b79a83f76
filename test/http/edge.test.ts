import { expect, test } from 'bun:test'
import { ADMIN_KEY, call, onFreshDatabase, testServer } from '../support/app'
import { createConcert, hold, newConcert, shopper, userToken } from '../support/scenario'
import { describeWith, serviceUrl } from '../support/services'
import { createTestDatabase } from '../support/database'

const problemShape = {
  type: expect.stringMatching(/^urn:concert-waiting-room:problem:/),
  title: expect.any(String),
  status: expect.any(Number),
  detail: expect.any(String),
  code: expect.any(String),
  instance: expect.stringMatching(/^urn:request:/),
}

describeWith(['DATABASE_URL'], 'the HTTP edge', () => {
  const ctx = onFreshDatabase()

  test('errors are application/problem+json with a stable code and the request id', async () => {
    const reply = await call(ctx.server, '/v1/balance')
    expect(reply.status).toBe(401)
    expect(reply.headers.get('content-type')).toBe('application/problem+json')
    expect(reply.body).toEqual({ ...problemShape, status: 401, code: 'UNAUTHENTICATED' })
    expect(reply.body.instance).toBe(`urn:request:${reply.headers.get('x-request-id')}`)
  })

  test('a request id sent by the client is kept', async () => {
    const reply = await call(ctx.server, '/v1/nope', { headers: { 'x-request-id': 'trace-123' } })
    expect(reply.status).toBe(404)
    expect(reply.headers.get('x-request-id')).toBe('trace-123')
    expect(reply.body.instance).toBe('urn:request:trace-123')
  })

  test('unknown body fields are a 400 and change nothing', async () => {
    const token = await userToken(ctx.server, 'e-mass')
    for (const extra of [{ userId: 'someone-else' }, { balance: 10 ** 9 }, { status: 'PAID' }]) {
      const reply = await call(ctx.server, '/v1/balance/charges', { token, body: { amount: 10, ...extra } })
      expect(reply.status).toBe(400)
      expect(reply.body).toEqual({ ...problemShape, status: 400, code: 'VALIDATION_FAILED' })
    }
    expect((await call(ctx.server, '/v1/balance', { token })).body.balance).toBe(0)
  })

  test('malformed JSON and non-object bodies are a 400', async () => {
    const token = await userToken(ctx.server, 'e-json')
    for (const rawBody of ['{"amount":', 'null', '[]', '"x"', '']) {
      const reply = await call(ctx.server, '/v1/balance/charges', { token, rawBody, headers: { 'content-type': 'application/json' } })
      expect(reply.status).toBe(400)
      expect(reply.body.code).toBe('VALIDATION_FAILED')
    }
  })

  test('a body that is not JSON is refused after the credentials: a stranger gets 401, an admin body an empty patch would satisfy 400', async () => {
    const stranger = await call(ctx.server, '/v1/balance/charges', { rawBody: '{"amount":', headers: { 'content-type': 'application/json' } })
    expect([stranger.status, stranger.body.code]).toEqual([401, 'UNAUTHENTICATED'])
    const { concertId } = await createConcert(ctx.server, { seats: 1 })
    const before = (await call(ctx.server, `/v1/admin/concerts/${concertId}/queue`, { headers: { 'x-admin-key': ADMIN_KEY } })).body
    const wrongKey = await call(ctx.server, `/v1/admin/concerts/${concertId}/queue`, {
      method: 'PATCH', rawBody: '{"paused":', headers: { 'x-admin-key': 'not-the-key', 'content-type': 'application/json' },
    })
    expect(wrongKey.status).toBe(401)
    // Every field of a line's patch is optional: the empty body left in place of a broken one must not pass as a patch.
    for (const rawBody of ['{"paused":', new Uint8Array([0x7b, 0xff, 0x7d])]) {
      const patched = await call(ctx.server, `/v1/admin/concerts/${concertId}/queue`, {
        method: 'PATCH', rawBody, headers: { 'x-admin-key': ADMIN_KEY, 'content-type': 'application/json' },
      })
      expect([patched.status, patched.body.code]).toEqual([400, 'VALIDATION_FAILED'])
      expect(patched.body.detail).toMatch(/^The body is not valid (JSON|UTF-8)$/)
    }
    expect((await call(ctx.server, `/v1/admin/concerts/${concertId}/queue`, { headers: { 'x-admin-key': ADMIN_KEY } })).body).toEqual(before)
  })

  test('a body nested deeper than 8 levels is a 400 at once; the refusal used to take time quadratic in the depth', async () => {
    const token = await userToken(ctx.server, 'e-deep')
    // 8,100 levels in 16.2 KB held an instance for 3.3-3.9 s (helper-57); anything in the bound is quick.
    const nested = (depth: number, inner = '') => `${'['.repeat(depth)}${inner}${']'.repeat(depth)}`
    for (const [path, rawBody, auth] of [
      ['/v1/dev/user-tokens', nested(8_000), false],
      ['/v1/balance/charges', nested(8_000), true],
      ['/v1/balance/charges', `{"amount":${nested(7_000, '1')}}`, true],
      ['/v1/admin/concerts', `{"title":"x","schedules":[{"startsAt":${nested(7, '{}')}}]}`, false],
    ] as const) {
      const started = performance.now()
      const reply = await call(ctx.server, path, { token: auth ? token : undefined, rawBody, headers: { 'x-admin-key': ADMIN_KEY } })
      expect([path, reply.status, reply.body.code, reply.body.detail]).toEqual([path, 400, 'VALIDATION_FAILED', 'The body nests more than 8 levels deep'])
      expect(performance.now() - started).toBeLessThan(100)
    }
    // Eight levels are still read (and refused by the schema, as any shape it does not name).
    const eight = await call(ctx.server, '/v1/balance/charges', { token, rawBody: `{"amount":${nested(7, '1')}}` })
    expect([eight.status, eight.body.detail]).toEqual([400, 'body.amount: Expected a whole number from 1 to 10000000'])
    expect((await call(ctx.server, '/v1/balance', { token })).body.balance).toBe(0)
  })

  test('an object that names a member twice is a 400 and changes nothing: JSON.parse keeps the last, a reader in front may keep the first', async () => {
    const token = await userToken(ctx.server, 'e-twice')
    for (const rawBody of ['{"amount":1,"amount":2}', '{ "amount" : 1 , "amount" : 1 }', '{"amount":1,"\\u0061mount":2}', '{"amount":5,"x":{},"amount":5}']) {
      const reply = await call(ctx.server, '/v1/balance/charges', { token, rawBody })
      expect([rawBody, reply.status, reply.body.code, reply.body.detail]).toEqual([rawBody, 400, 'VALIDATION_FAILED', 'The body names a member twice in one object'])
    }
    const title = '{"title":"x"}, [\\"a\\", "a"] \\\\'
    const concert = await call(ctx.server, '/v1/admin/concerts', {
      headers: { 'x-admin-key': ADMIN_KEY },
      body: newConcert({ seats: 1, schedules: 2, title }),
    })
    // The same names in different objects, and names, brackets and quotes inside strings, are no repeat.
    expect(concert.status).toBe(201)
    const twice = await call(ctx.server, '/v1/admin/concerts', {
      headers: { 'x-admin-key': ADMIN_KEY, 'content-type': 'application/json' },
      rawBody: `{"title":"y","schedules":[{"startsAt":"2030-01-03T19:00:00.000Z","seatCount":1,"price":1,"price":2}]}`,
    })
    expect([twice.status, twice.body.detail]).toEqual([400, 'The body names a member twice in one object'])
    expect((await call(ctx.server, '/v1/balance', { token })).body.balance).toBe(0)
    const titles = (await call(ctx.server, '/v1/concerts?limit=100')).body.map((c: { title: string }) => c.title)
    expect([titles.includes(title), titles.includes('y')]).toEqual([true, false])
  })

  test('a fractional amount that reads as a whole number is a 400; whole numbers written with a fraction or an exponent are taken', async () => {
    const token = await userToken(ctx.server, 'e-fraction')
    // 100000.0000000000001 reads as the double 100000 (helper-57: charged as 100,000).
    for (const amount of ['100000.0000000000001', '1.0000000000000001', '99999.99999999999999', '1000e-3000']) {
      const reply = await call(ctx.server, '/v1/balance/charges', { token, rawBody: `{"amount":${amount}}` })
      expect([amount, reply.status, reply.body.detail]).toEqual([amount, 400, 'A number in the body is not a whole number (its fraction is finer than a JSON number keeps)'])
    }
    expect((await call(ctx.server, '/v1/balance', { token })).body.balance).toBe(0)
    for (const amount of ['100.0', '1e2', '1.5E2', '20000e-2']) {
      expect((await call(ctx.server, '/v1/balance/charges', { token, rawBody: `{"amount":${amount}}` })).status).toBe(201)
    }
    expect((await call(ctx.server, '/v1/balance', { token })).body.balance).toBe(100 + 100 + 150 + 200)
  })

  test('a query parameter given twice, or an integer not in decimal digits, is a 400 (Elysia read them leniently)', async () => {
    const token = await userToken(ctx.server, 'e-query')
    for (const path of ['/v1/concerts', '/v1/reservations', '/v1/balance/history']) {
      for (const query of ['limit=0x2', 'limit=0b11', 'limit=%202', 'limit=2%20', 'limit=2.0', 'limit=1e1', 'limit=%2B5', 'limit=05', 'limit=1&limit=2', 'limit=', 'cursor=a&cursor=b']) {
        const reply = await call(ctx.server, `${path}?${query}`, { token })
        expect([path, query, reply.status, reply.body.code]).toEqual([path, query, 400, 'VALIDATION_FAILED'])
      }
      expect((await call(ctx.server, `${path}?limit=2`, { token })).status).toBe(200)
      expect((await call(ctx.server, `${path}?limit=100`, { token })).status).toBe(200)
      // Every refused page size names its parameter and its bounds (helper-59: "property: ..." and
      // "Expected union value" named neither).
      for (const limit of ['', '0', '-1', '101', '99999999999999999999']) {
        const reply = await call(ctx.server, `${path}?limit=${limit}`, { token })
        expect([path, limit, reply.status, reply.body.detail]).toEqual([path, limit, 400, 'query.limit: Expected a whole number from 1 to 100, written in decimal digits'])
      }
    }
    // A page is not an API answer: a repeated parameter there is the browser's business.
    expect((await call(ctx.server, '/?a=1&a=2')).status).toBe(200)
  })

  test('a field that takes one of several kinds says which when refused (helper-59: "Expected union value")', async () => {
    const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 2 })
    const admin = { 'x-admin-key': ADMIN_KEY }
    const patched = async (body: object) => (await call(ctx.server, `/v1/admin/concerts/${concertId}/queue`, { method: 'PATCH', headers: admin, body })).body.detail
    const time = 'a calendar time (YYYY-MM-DDThh:mm[:ss[.fraction]] and Z or an offset up to ±15:59, from 1970 to 9999 in UTC)'
    expect(await patched({ salesOpenAt: 'yesterday' })).toBe(`body.salesOpenAt: Expected ${time} or null`)
    expect(await patched({ maxActive: '5' })).toBe('body.maxActive: Expected a whole number from 1 to 1000000 or null')
    expect(await patched({ admitPerSecond: 0 })).toBe('body.admitPerSecond: Expected a whole number from 1 to 100000 or null')
    const created = await call(ctx.server, '/v1/admin/concerts', { headers: admin, body: { ...newConcert({ seats: 1 }), salesOpenAt: 12 } })
    expect([created.status, created.body.detail]).toEqual([400, `body.salesOpenAt: Expected ${time} or null`])
    const startsAt = await call(ctx.server, '/v1/admin/concerts', { headers: admin, body: { title: 'T', schedules: [{ startsAt: 'tomorrow', seatCount: 1, price: 1 }] } })
    expect([startsAt.status, startsAt.body.detail]).toEqual([400, `body.schedules.0.startsAt: Expected ${time}`])
    // Every field says what it takes, not only its type or a raw rule (helper-60: "Expected integer",
    // "Expected string to match '^[0-9a-fA-F]{8}-…$'", "at least 1 properties", a length in UTF-16 units).
    const token = await userToken(ctx.server, 'e-expected')
    const refused = async (path: string, body: unknown, headers: Record<string, string> = {}) => (await call(ctx.server, path, { token, headers, body })).body.detail
    expect(await refused('/v1/balance/charges', { amount: '12' })).toBe('body.amount: Expected a whole number from 1 to 10000000')
    expect(await refused('/v1/balance/charges', { amount: 0 })).toBe('body.amount: Expected a whole number from 1 to 10000000')
    expect(await refused('/v1/queue/tokens', { concertId: 5 })).toBe('body.concertId: Expected a UUID (8-4-4-4-12 hexadecimal digits)')
    expect(await refused('/v1/queue/tokens', { concertId: 'x' })).toBe('body.concertId: Expected a UUID (8-4-4-4-12 hexadecimal digits)')
    expect(await refused('/v1/admin/concerts', { title: 'T', schedules: [1] }, admin)).toBe('body.schedules.0: Expected an object with startsAt, seatCount and price')
    expect(await refused('/v1/admin/concerts', { title: 'T', schedules: [] }, admin)).toBe('body.schedules: Expected a list of 1 to 50 items, each an object with startsAt, seatCount and price')
    const title = 'body.title: Expected 1-200 characters of visible text, no control characters'
    expect(await refused('/v1/admin/concerts', { ...newConcert({ seats: 1 }), title: '\u{1F3B5}'.repeat(201) }, admin)).toBe(title)
    expect(await refused('/v1/admin/concerts', { ...newConcert({ seats: 1 }), title: '' }, admin)).toBe(title)
    expect(await refused('/v1/admin/concerts', { ...newConcert({ seats: 1 }), title: '\u{1F3B5}'.repeat(199) + 'ab' }, admin)).toBe(title)
    const patch = await call(ctx.server, `/v1/admin/concerts/${concertId}/queue`, { method: 'PATCH', headers: admin, body: {} })
    expect(patch.body.detail).toBe('body: Expected at least one of paused, maxActive, admitPerSecond or salesOpenAt')
    expect(await refused('/v1/dev/user-tokens', { userId: '' })).toBe('body.userId: Expected 1-128 characters of well-formed Unicode, no control characters')
    // A missing field says what it takes; an object that takes nothing says so (helper-61: "takes " and nothing).
    expect(await refused('/v1/balance/charges', {})).toBe('body.amount: Required: a whole number from 1 to 10000000')
    const { scheduleIds: [schedule] } = await createConcert(ctx.server, { seats: 1 })
    const mapped = await call(ctx.server, `/v1/schedules/${schedule}/seat-map?zz=1`, { token })
    expect(mapped.body.detail).toMatch(/^query(\.zz)?: Unexpected property \(this object takes none\)$/)
    expect((await call(ctx.server, '/v1/reservations?cursor=ZZECHO', { token })).body.detail).toBe('query.cursor: Expected a cursor this API returned for the next page')
    // Nothing of the refused patches was applied.
    const line = await call(ctx.server, `/v1/admin/concerts/${concertId}/queue`, { headers: admin })
    expect([line.body.salesOpenAt, line.body.maxActive > 0]).toEqual([null, true])
    const buyer = await shopper(ctx.server, 'e-union', concertId)
    for (const available of ['TRUE', '1', 'yes', '']) {
      for (const path of [`/v1/concerts/${concertId}/schedules`, `/v1/schedules/${scheduleIds[0]}/seats`]) {
        const reply = await call(ctx.server, `${path}?available=${available}`, buyer)
        expect([path, available, reply.status, reply.body.detail]).toEqual([path, available, 400, 'query.available: Expected true or false'])
      }
    }
  })

  test('a body that is not UTF-8 is a 400 and changes nothing (read as U+FFFD, two different bodies would be one)', async () => {
    const token = await userToken(ctx.server, 'e-utf8')
    const bytes = (text: string, ...tail: number[]) => new Uint8Array([...new TextEncoder().encode(text), ...tail, ...new TextEncoder().encode('"}')])
    for (const rawBody of [bytes('{"title":"bad \u00ff', 0xff, 0xfe), bytes('{"title":"', 0xc3), bytes('{"title":"', 0xed, 0xa0, 0x80)]) {
      const created = await call(ctx.server, '/v1/admin/concerts', { rawBody, headers: { 'x-admin-key': ADMIN_KEY, 'content-type': 'application/json' } })
      expect([created.status, created.body.code, created.body.detail]).toEqual([400, 'VALIDATION_FAILED', 'The body is not valid UTF-8'])
    }
    const named = await call(ctx.server, '/v1/dev/user-tokens', { rawBody: bytes('{"userId":"u', 0xff) })
    expect([named.status, named.body.code]).toEqual([400, 'VALIDATION_FAILED'])
    const charged = await call(ctx.server, '/v1/balance/charges', { token, rawBody: new Uint8Array([...new TextEncoder().encode('{"amount":10'), 0x80, 0x7d]) })
    expect([charged.status, charged.body.code]).toEqual([400, 'VALIDATION_FAILED'])
    expect((await call(ctx.server, '/v1/balance', { token })).body.balance).toBe(0)
    // One byte order mark before the text is ignored (RFC 8259 8.1 lets a parser); a second is not JSON.
    const bom = [0xef, 0xbb, 0xbf]
    const once = await call(ctx.server, '/v1/balance/charges', { token, rawBody: new Uint8Array([...bom, ...new TextEncoder().encode('{"amount":10}')]) })
    const twice = await call(ctx.server, '/v1/balance/charges', { token, rawBody: new Uint8Array([...bom, ...bom, ...new TextEncoder().encode('{"amount":10}')]) })
    expect([once.status, twice.status, twice.body.code]).toEqual([201, 400, 'VALIDATION_FAILED'])
    expect((await call(ctx.server, '/v1/balance', { token })).body.balance).toBe(10)
    // Well-formed UTF-8 beyond ASCII, U+FFFD itself included, is taken as sent.
    const kept = await call(ctx.server, '/v1/admin/concerts', {
      headers: { 'x-admin-key': ADMIN_KEY },
      body: newConcert({ seats: 1, title: 'Caf\u00e9 \ufffd \u{1F3B5}' }),
    })
    expect(kept.status).toBe(201)
    const listed = await call(ctx.server, '/v1/concerts?limit=100')
    expect(listed.body.find((c: { concertId: string }) => c.concertId === kept.body.concertId)?.title).toBe('Caf\u00e9 \ufffd \u{1F3B5}')
  })

  test('a body over 16 KiB is a 413', async () => {
    const token = await userToken(ctx.server, 'e-big')
    const reply = await call(ctx.server, '/v1/balance/charges', { token, rawBody: `{"amount":1,"pad":"${'x'.repeat(17_000)}"}` })
    expect(reply.status).toBe(413)
    expect(reply.body.code).toBe('PAYLOAD_TOO_LARGE')
  })

  test('a chunked body (no length) is answered as if it had come with its length: once, under its request id', async () => {
    const token = await userToken(ctx.server, 'e-chunked')
    const inTwoChunks = (text: string) =>
      new ReadableStream<Uint8Array>({
        start(controller) {
          const bytes = new TextEncoder().encode(text)
          controller.enqueue(bytes.slice(0, 5))
          controller.enqueue(bytes.slice(5))
          controller.close()
        },
      })
    const send = (body: string, contentType: string) =>
      ctx.server.app.handle(
        new Request('http://localhost/v1/balance/charges', {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': contentType, 'x-request-id': 'chunked-1' },
          body: inTwoChunks(body),
        }),
      )
    const charges = async (status: number) => {
      const text = (await call(ctx.server, '/metrics')).text
      const line = text.split('\n').find((l) => l.startsWith('concert_http_request_duration_seconds_count{') && l.includes('route="/v1/balance/charges"') && l.includes(`status="${status}"`))
      return line ? Number(line.split(' ').pop()) : 0
    }
    const before = await charges(201)

    const charged = await send('{"amount":25}', 'application/json')
    expect(charged.status).toBe(201)
    expect(charged.headers.get('x-request-id')).toBe('chunked-1')
    expect((await call(ctx.server, '/v1/balance', { token })).body.balance).toBe(25)
    expect(await charges(201)).toBe(before + 1) // measured once, not once more for the relay

    const refused = await send('amount=25', 'text/plain')
    expect(refused.status).toBe(415)
    expect(((await refused.json()) as { code: string }).code).toBe('UNSUPPORTED_MEDIA_TYPE')
    expect((await call(ctx.server, '/v1/balance', { token })).body.balance).toBe(25)
  })

  test('a body in a content coding is 415 and changes nothing; identity is taken (helper-59: a plain body labelled gzip was charged)', async () => {
    const token = await userToken(ctx.server, 'e-coding')
    const gzipped = new Uint8Array(Bun.gzipSync(JSON.stringify({ amount: 7 })))
    for (const [coding, rawBody] of [['gzip', gzipped], ['gzip', '{"amount":7}'], ['GZIP', '{"amount":7}'], ['br', '{"amount":7}'], ['deflate, gzip', '{"amount":7}']] as const) {
      const reply = await call(ctx.server, '/v1/balance/charges', { token, rawBody, headers: { 'content-encoding': coding } })
      expect(reply.status, coding).toBe(415)
      expect(reply.body.code).toBe('UNSUPPORTED_MEDIA_TYPE')
    }
    expect((await call(ctx.server, '/v1/balance', { token })).body.balance).toBe(0)
    const identity = await call(ctx.server, '/v1/balance/charges', { token, body: { amount: 7 }, headers: { 'content-encoding': 'identity' } })
    expect(identity.status).toBe(201)
    expect((await call(ctx.server, '/v1/balance', { token })).body.balance).toBe(7)
  })

  test('a chunked body is answered as with a length whatever the host: a one-word Host, a GET with a text body', async () => {
    const token = await userToken(ctx.server, 'e-chunked-host')
    const chunked = (text: string) => new ReadableStream<Uint8Array>({ start: (c) => (c.enqueue(new TextEncoder().encode(text)), c.close()) })
    // Elysia finds the path of a request it is handed from the 12th character of the URL on: a relay on
    // the client's own short host was routed by a piece of its path (405 for every POST).
    for (const host of ['api', 'x:80']) {
      const charged = await ctx.server.app.handle(
        new Request(`http://${host}/v1/balance/charges`, {
          method: 'POST',
          headers: { host, authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: chunked('{"amount":3}'),
        }),
      )
      expect(charged.status).toBe(201)
    }
    expect((await call(ctx.server, '/v1/balance', { token })).body.balance).toBe(6)
    // A body on a GET is refused for its media type with or without a length.
    const asText = { authorization: `Bearer ${token}`, 'content-type': 'text/plain', 'transfer-encoding': 'chunked' }
    const get = await ctx.server.app.handle(new Request('http://localhost/v1/balance', { headers: asText }))
    expect(get.status).toBe(415)
  })

  test('a Host that is not a host name or address is a 400 problem, not a failed URL (Bun puts it in front of the path)', async () => {
    const token = await userToken(ctx.server, 'e-bad-host')
    for (const host of ['a@b', 'x/y', 'a b']) {
      const unknown = await call(ctx.server, '/v1/nope', { headers: { host } })
      expect(unknown.status).toBe(400)
      expect(unknown.headers.get('content-type')).toBe('application/problem+json')
      expect(unknown.body).toEqual({ ...problemShape, status: 400, code: 'VALIDATION_FAILED' })
      const charge = await call(ctx.server, '/v1/balance/charges', { token, headers: { host }, body: { amount: 5 } })
      expect(charge.status).toBe(400)
    }
    expect((await call(ctx.server, '/v1/balance', { token })).body.balance).toBe(0)
    for (const host of ['localhost', 'api', 'app:3000', '[::1]:8080', '127.0.0.1', 'EXAMPLE.com.']) {
      expect((await call(ctx.server, '/health', { headers: { host } })).status).toBe(200)
    }
  })

  test('malformed ids in paths are a 400, unknown ones a 404', async () => {
    const token = await userToken(ctx.server, 'e-ids')
    expect((await call(ctx.server, '/v1/reservations/not-a-uuid', { token })).status).toBe(400)
    expect((await call(ctx.server, `/v1/reservations/${crypto.randomUUID()}`, { token })).status).toBe(404)
  })

  test('the admin API needs X-Admin-Key', async () => {
    const body = { title: 'X', schedules: [{ startsAt: '2027-01-01T19:00:00Z', seatCount: 1, price: 1 }] }
    expect((await call(ctx.server, '/v1/admin/concerts', { body })).status).toBe(401)
    expect((await call(ctx.server, '/v1/admin/concerts', { body, headers: { 'x-admin-key': 'wrong' } })).status).toBe(401)
    const bad = await call(ctx.server, '/v1/admin/concerts', { body: { ...body, schedules: [] }, headers: { 'x-admin-key': ADMIN_KEY } })
    expect(bad.status).toBe(400)
    expect((await call(ctx.server, '/v1/admin/concerts', { body, headers: { 'x-admin-key': ADMIN_KEY } })).status).toBe(201)
  })

  test('the public catalogue lists concerts with their number of schedules', async () => {
    const { concertId } = await createConcert(ctx.server, { schedules: 3, title: 'Catalogue test' })
    const reply = await call(ctx.server, '/v1/concerts')
    expect(reply.status).toBe(200)
    expect(reply.body).toContainEqual({ concertId, title: 'Catalogue test', schedules: 3 })
  })

  test('a new concert has seats numbered 1..N at its price', async () => {
    const { scheduleIds } = await createConcert(ctx.server, { seats: 4, price: 250 })
    const rows = await ctx.db.sql`select seat_number, price, status from seats where schedule_id = ${scheduleIds[0]!} order by seat_number`
    expect(rows.map((r) => [r.seat_number, r.price, r.status])).toEqual([1, 2, 3, 4].map((n) => [n, 250, 'AVAILABLE']))
  })

  test('health and readiness', async () => {
    expect((await call(ctx.server, '/health')).body).toEqual({ status: 'ok' })
    expect((await call(ctx.server, '/ready')).body).toEqual({ status: 'ready', database: 'up', queueStore: 'postgres' })
  })
})

describeWith(['DATABASE_URL'], 'shared catalogue reads', () => {
  const ctx = onFreshDatabase({ CATALOGUE_CACHE_MS: '400' })

  test('a seat map is shared for CATALOGUE_CACHE_MS, then read again; holds are never fooled by it', async () => {
    const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 2 })
    const alice = await shopper(ctx.server, 'cache-alice', concertId)
    const bob = await shopper(ctx.server, 'cache-bob', concertId)
    const seats = () => call(ctx.server, `/v1/schedules/${scheduleIds[0]}/seats`, bob)
    const first = await seats()
    expect(first.headers.get('content-type')).toStartWith('application/json')
    expect(first.headers.get('x-request-id')).toBeTruthy()
    expect(first.body).toEqual([
      { number: 1, price: 1000, status: 'AVAILABLE' },
      { number: 2, price: 1000, status: 'AVAILABLE' },
    ])
    expect((await hold(ctx.server, alice, scheduleIds[0]!, 1)).status).toBe(201)
    expect((await seats()).body[0].status).toBe('AVAILABLE') // the shared map, at most 400 ms old
    expect((await hold(ctx.server, bob, scheduleIds[0]!, 1)).body.code).toBe('SEAT_UNAVAILABLE')
    await Bun.sleep(450)
    expect((await seats()).body[0].status).toBe('HELD')
  })
})

describeWith(['DATABASE_URL'], 'per-user rate limit', () => {
  const ctx = onFreshDatabase({ RATE_LIMIT_PER_SECOND: '1', RATE_LIMIT_BURST: '3' })

  test('past the burst a user gets 429 with Retry-After; other users are unaffected', async () => {
    const alice = { token: await userToken(ctx.server, 'rl-alice') }
    const statuses = []
    for (let i = 0; i < 4; i++) statuses.push((await call(ctx.server, '/v1/balance', alice)).status)
    expect(statuses).toEqual([200, 200, 200, 429])
    const limited = await call(ctx.server, '/v1/balance', alice)
    expect(limited.body.code).toBe('RATE_LIMITED')
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    expect((await call(ctx.server, '/v1/balance', { token: await userToken(ctx.server, 'rl-bob') })).status).toBe(200)
    await Bun.sleep(1100)
    expect((await call(ctx.server, '/v1/balance', alice)).status).toBe(200)
  })

  test('a body that is not JSON spends the budget and carries the RateLimit headers, as any refusal of the route does', async () => {
    const carol = await userToken(ctx.server, 'rl-carol')
    const statuses = []
    for (let i = 0; i < 4; i++) {
      const reply = await call(ctx.server, '/v1/balance/charges', { token: carol, rawBody: '{bad', headers: { 'content-type': 'application/json' } })
      statuses.push(reply.status)
      expect(reply.headers.get('ratelimit')).toMatch(/^"per-user";r=\d+;t=\d+$/)
      expect(reply.headers.get('ratelimit-policy')).toBe('"per-user";q=3;w=3')
    }
    expect(statuses).toEqual([400, 400, 400, 429])
  })
})

describeWith(['DATABASE_URL'], 'production and degraded modes', () => {
  test('production: no dev tokens, no admin API without a key, no internals in errors', async () => {
    const db = await createTestDatabase(serviceUrl('DATABASE_URL')!)
    const server = await testServer({ DATABASE_URL: db.url, NODE_ENV: 'production', AUTH_DEV_TOKENS: undefined, ADMIN_API_KEY: undefined })
    try {
      const dev = await call(server, '/v1/dev/user-tokens', { body: { userId: 'x' } })
      expect(dev.status).toBe(404)
      const admin = await call(server, '/v1/admin/concerts', { body: {}, headers: { 'x-admin-key': ADMIN_KEY } })
      expect(admin.status).toBe(404)
      const doc = await (await server.app.handle(new Request('http://localhost/swagger/json'))).json()
      expect(Object.keys(doc.paths)).not.toContain('/v1/dev/user-tokens')
      // An unknown field is refused without its name echoed (it is the client's input, not our schema's).
      const token = await server.tokens.issue('x')
      const extra = await call(server, '/v1/balance/charges', { token, body: { amount: 1, 'secretEcho<script>': 1 } })
      // What the object takes is named instead (helper-60: nothing said which fields were allowed).
      expect([extra.status, extra.body.code, extra.body.detail]).toEqual([400, 'VALIDATION_FAILED', 'body: Unexpected property (this object takes amount)'])
      const nested = await call(server, '/v1/balance/charges', { token, body: { amount: 'x' } })
      expect(nested.body.detail).toBe('body.amount: Expected a whole number from 1 to 10000000')
      // A database that went away: 503 with Retry-After, nothing about the cause.
      await server.sql.end()
      const down = await call(server, '/v1/balance', { token })
      expect(down.status).toBe(503)
      expect(down.headers.get('retry-after')).toBe('2')
      expect(down.body.code).toBe('SERVICE_UNAVAILABLE')
      expect(down.text).not.toMatch(/postgres|CONNECTION|at \w+ \(/i)
      expect((await call(server, '/ready')).status).toBe(503)
    } finally {
      await server.stop().catch(() => {})
      await db.drop()
    }
  })
})
