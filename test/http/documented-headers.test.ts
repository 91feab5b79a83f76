import { beforeAll, expect, test } from 'bun:test'
import { ADMIN_KEY, call, onFreshDatabase, type Call, type Reply } from '../support/app'
import { createConcert, shopper, userToken } from '../support/scenario'
import { describeWith } from '../support/services'

// The headers of the HTTP manners, as the OpenAPI document declares them per operation and status: every
// one an answer carries is declared there, and every one declared required is carried. Generated SDKs type
// a response's headers from the document (helper-37: RateLimit and Cache-Control came undeclared on
// problems and 304s, and no header was required, so X-Request-Id typed as optional).
const MANNERS = ['x-request-id', 'cache-control', 'etag', 'location', 'link', 'retry-after', 'www-authenticate', 'ratelimit', 'ratelimit-policy', 'idempotent-replayed']

describeWith(['DATABASE_URL'], 'response headers against the OpenAPI document', () => {
  const ctx = onFreshDatabase({ RATE_LIMIT_PER_SECOND: '5', RATE_LIMIT_BURST: '40' })
  let doc: any
  const seen = new Set<string>()
  const problems: string[] = []

  beforeAll(async () => {
    doc = (await call(ctx.server, '/swagger/json')).body
  })

  const deref = (node: any, kind: string) => (node?.$ref ? doc.components[kind][node.$ref.split('/').pop()] : node)
  function operationOf(method: string, path: string): { id: string; responses: any } {
    const bare = path.split('?')[0]!
    for (const [template, item] of Object.entries(doc.paths) as [string, any][]) {
      const pattern = new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`)
      if (pattern.test(bare) && item[method.toLowerCase()]) return { id: item[method.toLowerCase()].operationId, responses: item[method.toLowerCase()].responses }
    }
    throw new Error(`no operation for ${method} ${path}`)
  }

  /** A request through the app, its answer's headers checked against the document. */
  async function checked(path: string, c: Call = {}): Promise<Reply> {
    const method = c.method ?? (c.body !== undefined || c.rawBody !== undefined ? 'POST' : 'GET')
    const reply = await call(ctx.server, path, c)
    const { id, responses } = operationOf(method, path)
    const where = `${id} ${reply.status}`
    seen.add(where)
    const response = deref(responses[String(reply.status)], 'responses')
    if (!response) {
      problems.push(`${where}: status not documented`)
      return reply
    }
    const declared = new Map(Object.entries(response.headers ?? {}).map(([name, h]) => [name.toLowerCase(), deref(h, 'headers')]))
    for (const name of MANNERS) {
      const carried = reply.headers.get(name) !== null
      if (carried && !declared.has(name)) problems.push(`${where}: carries ${name}, not declared`)
      if (!carried && declared.get(name)?.required) problems.push(`${where}: ${name} declared required, not carried`)
    }
    return reply
  }

  test('every answer of the booking path carries the headers its operation and status declare, and no undeclared one', async () => {
    const server = ctx.server
    const admin = { 'x-admin-key': ADMIN_KEY }
    // Operators: created (Location), refused, unauthenticated.
    const created = await checked('/v1/admin/concerts', { headers: admin, body: { title: 'Headers', schedules: [{ startsAt: '2027-05-01T19:00:00Z', seatCount: 5, price: 1000 }] } })
    expect(created.status).toBe(201)
    expect((await checked('/v1/admin/concerts', { headers: admin, body: { title: 'x', schedules: [] } })).status).toBe(400)
    expect((await checked('/v1/admin/concerts', { headers: { 'x-admin-key': 'wrong' }, body: { title: 'x', schedules: [] } })).status).toBe(401)
    const { concertId, scheduleIds } = await createConcert(server, { seats: 5 })
    expect((await checked(`/v1/admin/concerts/${concertId}/queue`, { headers: admin })).status).toBe(200)

    // A user: catalogue reads (ETag, 304), charges (keyed, replayed, reused), the line.
    const token = await userToken(server, 'headers-user')
    const listed = await checked('/v1/concerts', { token })
    expect(listed.status).toBe(200)
    expect((await checked('/v1/concerts', { token, headers: { 'if-none-match': listed.headers.get('etag')! } })).status).toBe(304)
    expect((await checked('/v1/balance')).status).toBe(401)
    expect((await checked('/v1/concerts?limit=0', { token })).status).toBe(400)
    expect((await checked('/v1/balance/charges', { token, body: { amount: 5000 }, headers: { 'idempotency-key': 'h-1' } })).status).toBe(201)
    expect((await checked('/v1/balance/charges', { token, body: { amount: 5000 }, headers: { 'idempotency-key': 'h-1' } })).headers.get('idempotent-replayed')).toBe('true')
    expect((await checked('/v1/balance/charges', { token, body: { amount: 7 }, headers: { 'idempotency-key': 'h-1' } })).status).toBe(422)
    expect((await checked('/v1/balance/charges', { token, rawBody: 'amount=5', headers: { 'content-type': 'text/plain' } })).status).toBe(415)
    expect((await checked('/v1/balance', { token })).status).toBe(200)
    expect((await checked('/v1/balance/history?limit=1', { token })).status).toBe(200)
    expect((await checked(`/v1/queue/tokens`, { token, body: { concertId: crypto.randomUUID() } })).status).toBe(404)
    expect((await checked(`/v1/concerts/${concertId}/schedules`, { token })).status).toBe(401)

    // An admitted shopper: holds (Location, 409), payments (402, replay), cancels, the status and its stream.
    const buyer = await shopper(server, 'headers-buyer', concertId, 1000)
    const q = { token: buyer.token, queueToken: buyer.queueToken }
    expect((await checked('/v1/queue/tokens', { token: buyer.token, body: { concertId } })).status).toBe(200)
    expect((await checked('/v1/queue/status', q)).status).toBe(200)
    expect((await checked('/v1/queue/status', { token: buyer.token, queueToken: 'forged.token' })).status).toBe(401)
    expect((await checked(`/v1/queue/events`)).status).toBe(401)
    const schedules = await checked(`/v1/concerts/${concertId}/schedules`, q)
    expect(schedules.status).toBe(200)
    expect((await checked(`/v1/concerts/${concertId}/schedules`, { ...q, headers: { 'if-none-match': schedules.headers.get('etag')! } })).status).toBe(304)
    expect((await checked(`/v1/schedules/${scheduleIds[0]}/seats`, q)).status).toBe(200)
    expect((await checked(`/v1/schedules/${scheduleIds[0]}/seat-map`, q)).status).toBe(200)
    const first = await checked('/v1/reservations', { ...q, body: { scheduleId: scheduleIds[0], seatNumber: 1 } })
    expect(first.status).toBe(201)
    const second = await checked('/v1/reservations', { ...q, body: { scheduleId: scheduleIds[0], seatNumber: 2 } })
    expect(second.status).toBe(201)
    expect((await checked('/v1/reservations', { ...q, body: { scheduleId: scheduleIds[0], seatNumber: 1 } })).status).toBe(409)
    expect((await checked('/v1/reservations', q)).status).toBe(200)
    expect((await checked(`/v1/reservations/${first.body.reservationId}`, q)).status).toBe(200)
    expect((await checked(`/v1/reservations/${crypto.randomUUID()}`, q)).status).toBe(404)
    expect((await checked('/v1/payments', { ...q, body: { reservationId: first.body.reservationId }, headers: { 'idempotency-key': 'p-1' } })).status).toBe(201)
    expect((await checked('/v1/payments', { ...q, body: { reservationId: first.body.reservationId }, headers: { 'idempotency-key': 'p-1' } })).status).toBe(201)
    expect((await checked('/v1/payments', { ...q, body: { reservationId: second.body.reservationId } })).status).toBe(402)
    expect((await checked(`/v1/reservations/${second.body.reservationId}`, { ...q, method: 'DELETE' })).status).toBe(200)

    // The budget runs out (429, Retry-After), and a body too large for the edge (413).
    let limited: Reply | undefined
    for (let i = 0; i < 60 && !limited; i++) {
      const reply = await checked('/v1/balance', { token })
      if (reply.status === 429) limited = reply
    }
    expect(limited?.headers.get('retry-after')).toBeTruthy()
    expect((await checked('/v1/balance/charges', { token, rawBody: JSON.stringify({ amount: 1, pad: 'x'.repeat(20_000) }) })).status).toBe(413)
    expect((await checked('/health')).status).toBe(200)
    expect((await checked('/ready')).status).toBe(200)

    expect(problems).toEqual([])
    // Enough kinds of answer that the rule above says something.
    expect(seen.size).toBeGreaterThanOrEqual(35)
  })

  test('the status stream\'s token, its only credential, is a required parameter', () => {
    const parameters = doc.paths['/v1/queue/events'].get.parameters
    expect(parameters.find((p: any) => p.in === 'query' && p.name === 'token')?.required).toBe(true)
  })
})
