import { afterAll, beforeAll, expect, test } from 'bun:test'
import { userTokens } from '../../src/identity/user-tokens'
import { ADMIN_KEY, TEST_SECRET } from '../support/app'
import { createTestDatabase, type TestDatabase } from '../support/database'
import { http, rawExchange, startInstance, type Instance } from '../support/instances'
import { describeWith, serviceUrl } from '../support/services'

// What the runtime (Bun 1.4.5) decides before the app sees a request (README, "When things fail"): the
// requests it refuses get no problem body and no X-Request-Id, and change nothing; repeated headers are
// joined. Proven on a running instance over a raw socket, since fetch itself refuses to send most of them.

describeWith(['DATABASE_URL'], 'what the runtime decides before the app', () => {
  let db: TestDatabase
  let instance: Instance
  let token: string
  beforeAll(async () => {
    db = await createTestDatabase(serviceUrl('DATABASE_URL')!)
    instance = await startInstance({ DATABASE_URL: db.url })
    token = await userTokens(TEST_SECRET).issue('refused-by-the-runtime')
  }, 60_000)
  afterAll(async () => {
    await instance?.stop()
    await db?.drop()
  }, 30_000)

  const topUp = (header: string) =>
    `POST /v1/balance/charges HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\n` +
    `Content-Length: 14\r\n${header}\r\nConnection: close\r\n\r\n{"amount":100}`

  test('a header value with a control character (a NUL, a 0x01) is a bare 400, and the top-up it carried is not made (helper-45)', async () => {
    for (const header of ['Idempotency-Key: k\x00k', 'X-Note: a\x01b']) {
      const answer = await rawExchange(instance.port, topUp(header))
      expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request')
      expect(answer.toLowerCase()).not.toContain('x-request-id')
      expect(answer.split('\r\n\r\n')[1] ?? '').toBe('')
    }
    expect((await http(instance.url, '/v1/balance', { token })).body.balance).toBe(0)
    // The same request without the control character reaches the app.
    const made = await rawExchange(instance.port, topUp('Idempotency-Key: kk'))
    expect(made.split('\r\n')[0]).toBe('HTTP/1.1 201 Created')
    expect((await http(instance.url, '/v1/balance', { token })).body.balance).toBe(100)
  })

  test('two Idempotency-Key headers reach the app as one key, their values joined by ", "; spaces around a key are dropped (README, Idempotency; helper-45)', async () => {
    const two = await rawExchange(instance.port, topUp('Idempotency-Key: dupA\r\nIdempotency-Key: dupB'))
    expect(two.split('\r\n')[0]).toBe('HTTP/1.1 201 Created')
    const joined = await rawExchange(instance.port, topUp('Idempotency-Key: dupA, dupB'))
    expect(joined.split('\r\n')[0]).toBe('HTTP/1.1 201 Created')
    expect(joined.toLowerCase()).toContain('idempotent-replayed: true')
    expect(joined.split('\r\n\r\n')[1]).toBe(two.split('\r\n\r\n')[1])
    const alone = await rawExchange(instance.port, topUp('Idempotency-Key: dupA'))
    expect(alone.toLowerCase()).not.toContain('idempotent-replayed')
    // Spaces around a value are not part of it: the key is `padded`.
    const padded = await rawExchange(instance.port, topUp('Idempotency-Key:    padded   '))
    expect(padded.split('\r\n')[0]).toBe('HTTP/1.1 201 Created')
    expect((await rawExchange(instance.port, topUp('Idempotency-Key: padded'))).toLowerCase()).toContain('idempotent-replayed: true')
  })

  test('a request whose framing or Host is ambiguous is a bare 400, and a lower-case method is closed unanswered; none reaches the app (helper-57)', async () => {
    const before = (await http(instance.url, '/v1/balance', { token })).body.balance
    const charge = (head: string, body = '{"amount":100}') =>
      `POST /v1/balance/charges HTTP/1.1\r\n${head}Authorization: Bearer ${token}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`
    for (const head of [
      'Host: localhost\r\nContent-Length: 14\r\nTransfer-Encoding: chunked\r\n',
      'Host: localhost\r\nContent-Length: 14\r\nContent-Length: 15\r\n',
      'Content-Length: 14\r\n',
      'Host: localhost\r\nContent-Length: 14\r\nX-Note: a\r\n b\r\n',
    ]) {
      const answer = await rawExchange(instance.port, charge(head))
      expect([head, answer.split('\r\n')[0]]).toEqual([head, 'HTTP/1.1 400 Bad Request'])
      expect(answer.toLowerCase()).not.toContain('x-request-id')
    }
    expect(await rawExchange(instance.port, charge('Host: localhost\r\nContent-Length: 14\r\n').replace(/^POST/, 'post'))).toBe('')
    expect((await http(instance.url, '/v1/balance', { token })).body.balance).toBe(before)
  })

  test('pipelining: a second request in the same write as one answered asynchronously closes the connection with neither answered, after the first took effect (README)', async () => {
    const before = (await http(instance.url, '/v1/balance', { token })).body.balance
    const charge = (key: string) =>
      `POST /v1/balance/charges HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\n` +
      `Content-Length: 12\r\nIdempotency-Key: ${key}\r\n\r\n{"amount":7}`
    const key = `piped-${crypto.randomUUID()}`
    expect(await rawExchange(instance.port, charge(key) + charge(`${key}-second`))).toBe('')
    await Bun.sleep(200)
    // The first was dispatched and made; its key tells the client so, as after any connection lost
    // before its answer. The second never reached the app.
    expect((await http(instance.url, '/v1/balance', { token })).body.balance).toBe(before + 7)
    const again = await rawExchange(instance.port, charge(key).replace('\r\n\r\n', '\r\nConnection: close\r\n\r\n'))
    expect(again.split('\r\n')[0]).toBe('HTTP/1.1 201 Created')
    expect(again.toLowerCase()).toContain('idempotent-replayed: true')
    expect((await http(instance.url, '/v1/balance', { token })).body.balance).toBe(before + 7)
  })

  test('headers over 16 KiB are a bare 431; a method Bun does not know closes the connection unanswered', async () => {
    const big = await rawExchange(instance.port, `GET /health HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`)
    expect(big.split('\r\n')[0]).toBe('HTTP/1.1 431 Request Header Fields Too Large')
    expect(big.toLowerCase()).not.toContain('x-request-id')
    expect(await rawExchange(instance.port, 'FOO /health HTTP/1.1\r\nHost: localhost\r\n\r\n')).toBe('')
  })

  test('a path segment that is not percent-encoded UTF-8 reaches a route as its raw text; the edge refuses the path (helper-59)', async () => {
    // In-process (app.handle) the route never sees such a segment; on a running instance it did, and
    // `%FF` read as a user named "%FF" with no place (404) rather than a malformed request.
    const admin = { 'x-admin-key': ADMIN_KEY }
    const created = await http(instance.url, '/v1/admin/concerts', {
      headers: admin,
      body: { title: 'Raw segments', schedules: [{ startsAt: '2030-01-01T20:00:00Z', seatCount: 1, price: 100 }] },
    })
    expect(created.status).toBe(201)
    const sessions = `/v1/admin/concerts/${created.body.concertId}/queue/sessions`
    for (const bad of ['%FF', '%ED%A0%80', 'a%zz', '%C0%AF']) {
      const reply = await http(instance.url, `${sessions}/${bad}`, { method: 'DELETE', headers: admin })
      expect(reply.status, bad).toBe(400)
      expect(reply.body.code).toBe('VALIDATION_FAILED')
    }
    // Spelled right, the same characters are a user id like any other.
    expect((await http(instance.url, `${sessions}/%25FF`, { method: 'DELETE', headers: admin })).status).toBe(404)
  })
})
