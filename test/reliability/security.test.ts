import { afterAll, beforeAll, expect, test } from 'bun:test'
import fc from 'fast-check'
import { SignJWT } from 'jose'
import { queueTokens } from '../../src/waiting-room/queue-token'
import { ADMIN_KEY, TEST_SECRET } from '../support/app'
import { reportInvariants } from '../support/invariants'
import { describeWith } from '../support/services'
import { issuer, pool, send, startCluster, type Cluster, type Reply, type Shopper } from './support/cluster'
import { admitCrowd } from './support/crowd'
import { record } from './support/results'

// Who may do what, over three real instances: forged and mutated tokens, skipping the line, touching
// another user's things, smuggling fields into bodies, and joining the line again and again.

const ACTIVE_TTL = 4
const b64 = (s: string | Uint8Array) => Buffer.from(s).toString('base64url')
const printable = (s: string) => /^[\x21-\x7e]*$/.test(s)

async function pause(cluster: Cluster, concertId: string, paused: boolean) {
  const r = await send(cluster.url(0), `/v1/admin/concerts/${concertId}/queue`, { method: 'PATCH', headers: { 'x-admin-key': ADMIN_KEY }, body: { paused } })
  if (r.status !== 200) throw new Error(`pause: ${r.status} ${r.text}`)
  await Bun.sleep(1500) // every instance reads the settings once a tick
}

/** Flips one bit of one character, keeping it a character a header can carry. */
function flipChar(s: string, at: number, bit: number): string {
  const c = String.fromCharCode(s.charCodeAt(at % s.length) ^ (1 << bit))
  return s.slice(0, at % s.length) + c + s.slice((at % s.length) + 1)
}
/** Flips one bit of the decoded bytes of a base64url segment and encodes it again. */
function flipDecoded(segment: string, at: number, bit: number): string {
  const bytes = Buffer.from(segment, 'base64url')
  if (bytes.length === 0) return `${segment}A`
  bytes[at % bytes.length]! ^= 1 << bit
  return b64(bytes)
}

describeWith(['DATABASE_URL', 'REDIS_URL'], 'reliability: access control over three instances', () => {
  let cluster: Cluster
  beforeAll(async () => {
    cluster = await startCluster({ env: { QUEUE_ADMIT_PER_SECOND: '5', QUEUE_ACTIVE_TTL_SECONDS: String(ACTIVE_TTL) } })
  }, 60_000)
  afterAll(async () => {
    await cluster?.stop()
  }, 60_000)

  test('13. 10,000 mutated queue and user tokens (bit flips, truncation, alg none, other secret, expired, other user, other concert): 100% rejected', async () => {
    const x = await cluster.createConcert({ seats: 10 })
    const y = await cluster.createConcert({ seats: 10 })
    const [alice, bob] = await admitCrowd(cluster, x.concertId, ['s13-alice', 's13-bob'])
    const [aliceInY] = await admitCrowd(cluster, y.concertId, ['s13-alice'])
    // Holds keep both sessions ACTIVE for the whole test (a hold extends the session past its expiry).
    expect((await cluster.hold(0, alice!, x.scheduleIds[0]!, 1)).status).toBe(201)
    expect((await cluster.hold(0, bob!, x.scheduleIds[0]!, 2)).status).toBe(201)
    const seats = `/v1/schedules/${x.scheduleIds[0]}/seats`
    expect((await send(cluster.url(0), seats, alice!)).status).toBe(200)

    // Queue tokens: Alice's ACTIVE token of concert X, mutated, sent by Alice to X's seats.
    const qt = alice!.queueToken
    const [payload, mac] = qt.split('.') as [string, string]
    const ticket = JSON.parse(Buffer.from(payload, 'base64url').toString())
    const forge = (secret: string, t: { c: string; u: string; s: number }) => queueTokens(secret).sign({ concertId: t.c, userId: t.u, seq: t.s })
    const queueMutation = fc.oneof(
      fc.tuple(fc.nat(), fc.integer({ min: 0, max: 6 })).map(([at, bit]) => flipChar(qt, at, bit)),
      fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 })).map(([at, bit]) => `${flipDecoded(payload, at, bit)}.${mac}`),
      fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 })).map(([at, bit]) => `${payload}.${flipDecoded(mac, at, bit)}`),
      fc.integer({ min: 0, max: qt.length - 1 }).map((n) => qt.slice(0, n)),
      fc.string({ unit: fc.constantFrom(...'ABCxyz019-_.='.split('')), minLength: 1, maxLength: 8 }).map((extra) => qt + extra),
      fc.constantFrom(`${payload}.`, payload, `${payload}.none`, `.${mac}`, `${payload}..${mac}`, `${b64('{"alg":"none"}')}.${payload}.`),
      fc.string({ minLength: 16, maxLength: 40 }).map((secret) => forge(secret, ticket)), // another secret
      fc.integer({ min: 0, max: 1_000_000 }).map((seq) => `${b64(JSON.stringify({ ...ticket, s: seq }))}.${mac}`), // another place, old signature
      fc.constantFrom(
        bob!.queueToken, // another user's token
        aliceInY!.queueToken, // Alice's own ACTIVE token, for another concert
        `${bob!.queueToken.split('.')[0]}.${mac}`,
        `${payload}.${bob!.queueToken.split('.')[1]}`,
      ),
      fc.string({ minLength: 1, maxLength: 300 }),
    ).filter((t) => t !== qt && t.length > 0 && printable(t))

    // User tokens: Alice's bearer token, mutated, sent to GET /v1/balance.
    const jwt = alice!.token
    const [head, body, sig] = jwt.split('.') as [string, string, string]
    const now = Math.floor(Date.now() / 1000)
    const secretKey = (s: string) => new TextEncoder().encode(s)
    const signed = async (claims: Record<string, unknown>, secret = TEST_SECRET, alg = 'HS256', sub: string | null = 's13-alice') => {
      let token = new SignJWT(claims).setProtectedHeader({ alg, typ: 'JWT' }).setIssuedAt()
      if (sub !== null) token = token.setSubject(sub)
      return token.sign(secretKey(secret))
    }
    const crafted = [
      `${b64('{"alg":"none","typ":"JWT"}')}.${body}.`,
      `${b64('{"alg":"none","typ":"JWT"}')}.${body}.${sig}`,
      `${b64('{"alg":"HS256"}')}.${body}`,
      `${head}.${b64(JSON.stringify({ sub: 's13-bob', exp: now + 3600 }))}.${sig}`, // another user, Alice's signature
      await signed({ exp: now - 10 }), // expired, right secret
      await signed({ exp: now + 3600, nbf: now + 600 }), // not yet valid
      await signed({ exp: now + 3600 }, TEST_SECRET, 'HS512'), // right secret, wrong algorithm
      await signed({ exp: now + 3600 }, TEST_SECRET, 'HS256', null), // no subject
      await signed({ exp: now + 3600 }, TEST_SECRET, 'HS256', 'x'.repeat(129)), // subject too long
      await signed({ exp: now + 3600 }, TEST_SECRET, 'HS256', ''), // empty subject
    ]
    const userMutation = fc.oneof(
      fc.tuple(fc.nat(), fc.integer({ min: 0, max: 6 })).map(([at, bit]) => flipChar(jwt, at, bit)),
      fc.tuple(fc.constantFrom(0, 1, 2), fc.nat(), fc.integer({ min: 0, max: 7 })).map(([part, at, bit]) => {
        const parts = [head, body, sig]
        parts[part] = flipDecoded(parts[part]!, at, bit)
        return parts.join('.')
      }),
      fc.integer({ min: 0, max: jwt.length - 1 }).map((n) => jwt.slice(0, n)),
      fc.string({ unit: fc.constantFrom(...'ABCxyz019-_.='.split('')), minLength: 1, maxLength: 8 }).map((extra) => jwt + extra),
      fc.string({ minLength: 16, maxLength: 40 }).map((secret) => `other-secret:${secret}`),
      fc.constantFrom(...crafted),
      fc.string({ minLength: 1, maxLength: 300 }),
    ).filter((t) => t !== jwt && t.length > 0 && printable(t))

    const queueSamples = fc.sample(queueMutation, { numRuns: 5000, seed: 13 })
    const userSamples = fc.sample(userMutation, { numRuns: 5000, seed: 31 })
    // Tokens signed with other secrets are made here, once per sample that asked for one.
    const userTokens = await Promise.all(
      userSamples.map((t) => (t.startsWith('other-secret:') ? signed({ exp: now + 3600 }, t.slice('other-secret:'.length)) : t)),
    )

    const queueReplies = await pool(queueSamples, 32, (t, i) => send(cluster.url(i), seats, { token: alice!.token, queueToken: t }))
    const userReplies = await pool(userTokens, 32, (t, i) => send(cluster.url(i), '/v1/balance', { headers: { authorization: `Bearer ${t}` } }))

    const queueAccepted = queueReplies.map((r, i) => ({ r, t: queueSamples[i]! })).filter(({ r }) => !(r.status === 401 || r.status === 403))
    const userAccepted = userReplies.map((r, i) => ({ r, t: userTokens[i]! })).filter(({ r }) => r.status !== 401)
    if (queueAccepted.length || userAccepted.length) {
      console.log('check 13 not rejected:', [...queueAccepted, ...userAccepted].slice(0, 5).map(({ r, t }) => `${r.status} ${t}`))
    }
    const { total } = await reportInvariants(cluster.db.sql, 'check 13')
    const figures = {
      'queue tokens': queueSamples.length,
      'queue tokens not rejected': queueAccepted.length,
      'user tokens': userTokens.length,
      'user tokens not rejected': userAccepted.length,
      'originals still accepted': `${(await send(cluster.url(1), seats, alice!)).status}, ${(await send(cluster.url(1), '/v1/balance', { token: jwt })).status}`,
      'invariant violations': total,
    }
    const pass = queueAccepted.length === 0 && userAccepted.length === 0 && queueSamples.length + userTokens.length >= 10_000 &&
      figures['originals still accepted'] === '200, 200' && total === 0
    record(13, 'mutated queue and user tokens', figures, pass)
    expect(queueAccepted.map(({ r, t }) => `${r.status} ${t}`)).toEqual([])
    expect(userAccepted.map(({ r, t }) => `${r.status} ${t}`)).toEqual([])
    expect(figures['originals still accepted']).toBe('200, 200')
  }, 120_000)

  test('14. queue bypass: hold, pay and list with no token, a WAITING, EXPIRED or DONE token, or another concert\'s token: 100% rejected, 0 holds', async () => {
    const x = await cluster.createConcert({ seats: 20, price: 100 })
    const other = await cluster.createConcert({ seats: 5 })
    const parked = await cluster.createConcert({ seats: 5 })
    const [active, expired, done] = await admitCrowd(cluster, x.concertId, ['s14-active', 's14-expired', 's14-done'])
    const [elsewhere] = await admitCrowd(cluster, other.concertId, ['s14-elsewhere'])
    // DONE: paid its only hold. EXPIRED: admitted, then idle past the session length.
    await cluster.charge(0, done!.token, 100)
    const doneHold = await cluster.hold(0, done!, x.scheduleIds[0]!, 1)
    expect((await cluster.pay(0, done!, doneHold.body.reservationId)).status).toBe(201)
    const activeHold = await cluster.hold(0, active!, x.scheduleIds[0]!, 2) // a hold to try paying with others' tokens
    await pause(cluster, parked.concertId, true)
    const waiter = { userId: 's14-waiting', token: await issuer.issue('s14-waiting'), queueToken: '' }
    const joined = await send(cluster.url(0), '/v1/queue/tokens', { token: waiter.token, body: { concertId: parked.concertId } })
    waiter.queueToken = joined.body.token
    await Bun.sleep(ACTIVE_TTL * 1000 + 500)
    const statusOf = async (s: Shopper) => (await send(cluster.url(1), '/v1/queue/status', s)).body.status
    const states = [await statusOf(waiter), await statusOf(expired!), await statusOf(done!)]
    expect(states).toEqual(['WAITING', 'EXPIRED', 'DONE'])
    await cluster.charge(0, expired!.token, 1000)
    await cluster.charge(0, waiter.token, 1000)

    const credentials: [string, { token: string; queueToken?: string }][] = [
      ['no queue token', { token: active!.token }],
      ['WAITING token', waiter],
      ['EXPIRED token', expired!],
      ['DONE token', done!],
      ["another concert's ACTIVE token", { token: elsewhere!.token, queueToken: elsewhere!.queueToken }],
    ]
    const attempts: { what: string; reply: Reply }[] = []
    for (const [what, c] of credentials) {
      for (let i = 0; i < 3; i++) {
        attempts.push({ what: `${what}: hold`, reply: await send(cluster.url(i), '/v1/reservations', { ...c, body: { scheduleId: x.scheduleIds[0], seatNumber: 10 + i } }) })
        attempts.push({ what: `${what}: list seats`, reply: await send(cluster.url(i), `/v1/schedules/${x.scheduleIds[0]}/seats`, c) })
        attempts.push({ what: `${what}: list dates`, reply: await send(cluster.url(i), `/v1/concerts/${x.concertId}/schedules`, c) })
      }
    }
    // Paying needs a live hold of one's own; the only ones around are the active user's and the DONE user's.
    for (const [what, c] of credentials.filter(([w]) => w !== 'no queue token')) {
      attempts.push({ what: `${what}: pay`, reply: await send(cluster.url(0), '/v1/payments', { ...c, body: { reservationId: activeHold.body.reservationId } }) })
    }
    attempts.push({ what: 'no queue token: pay', reply: await send(cluster.url(0), '/v1/payments', { token: active!.token, body: { reservationId: activeHold.body.reservationId } }) })

    const accepted = attempts.filter((a) => a.reply.status < 300)
    const notGuardAnswer = attempts.filter((a) => ![401, 403, 404].includes(a.reply.status))
    const [rows] = await cluster.db.sql`
      select (select count(*)::int from reservations where user_id like 's14-%') as holds,
             (select count(*)::int from payments where user_id like 's14-%') as payments`
    const { total } = await reportInvariants(cluster.db.sql, 'check 14')
    await pause(cluster, parked.concertId, false)
    const figures = {
      attempts: attempts.length,
      rejected: `${attempts.length - accepted.length} of ${attempts.length}`,
      'answers other than 401/403/404': notGuardAnswer.length,
      'holds made': rows!.holds - 2, // the DONE user's paid hold and the active user's hold were made before
      'payments made': rows!.payments - 1,
      'invariant violations': total,
    }
    if (notGuardAnswer.length) console.log('check 14 unexpected:', notGuardAnswer.map((a) => `${a.what} ${a.reply.status} ${a.reply.body?.code}`))
    const pass = accepted.length === 0 && notGuardAnswer.length === 0 && rows!.holds === 2 && rows!.payments === 1 && total === 0
    record(14, 'queue bypass', figures, pass)
    expect(accepted.map((a) => a.what)).toEqual([])
    expect(notGuardAnswer.map((a) => `${a.what} ${a.reply.status}`)).toEqual([])
    expect(rows).toEqual({ holds: 2, payments: 1 })
    expect(total).toBe(0)
  }, 60_000)

  test('15. joining 100 times keeps one place; admission order = join order', async () => {
    const USERS = 20
    const { concertId } = await cluster.createConcert({ seats: 100 })
    await pause(cluster, concertId, true)
    const users = await Promise.all(Array.from({ length: USERS }, async (_, i) => ({ i, userId: `s15-${i}`, token: await issuer.issue(`s15-${i}`) })))
    const first: Reply[] = []
    for (const u of users) first.push(await send(cluster.url(u.i), '/v1/queue/tokens', { token: u.token, body: { concertId } }))
    // 99 more joins each, all at once, in random order, over the three instances.
    const again = users.flatMap((u) => Array.from({ length: 99 }, (_, k) => ({ u, k }))).sort(() => Math.random() - 0.5)
    const replies = await pool(again, 64, ({ u, k }) => send(cluster.url(u.i + k), '/v1/queue/tokens', { token: u.token, body: { concertId } }))
    const samePlace = replies.filter((r, n) => r.status === 200 && r.body.token === first[again[n]!.u.i]!.body.token).length
    const positions = first.map((r) => r.body.position)
    const positionsInOrder = positions.every((p, i) => p === i + 1)

    await pause(cluster, concertId, false)
    const shoppers = users.map((u) => ({ userId: u.userId, token: u.token, queueToken: first[u.i]!.body.token as string }))
    const everAdmitted = new Set<number>()
    let orderViolations = 0
    const started = Date.now()
    // Poll one after another from the last joiner to the first: once a later joiner was seen admitted,
    // an earlier one still WAITING when polled after it is admission out of order. (Polling all at once
    // would let a tick fall between two answers and count a violation that never happened.)
    while (everAdmitted.size < USERS && Date.now() - started < 30_000) {
      let laterAdmitted = false
      for (let i = USERS - 1; i >= 0; i--) {
        const status = (await send(cluster.url(i), '/v1/queue/status', shoppers[i]!)).body.status
        if (status !== 'WAITING') {
          everAdmitted.add(i)
          laterAdmitted = true
        } else if (laterAdmitted) orderViolations++
      }
      await Bun.sleep(100)
    }
    const figures = {
      users: USERS,
      'joins after the first': again.length,
      'same token and place': `${samePlace} of ${again.length}`,
      'first positions 1..20 in order': positionsInOrder ? 'yes' : positions.join(','),
      admitted: everAdmitted.size,
      'admitted ahead of an earlier joiner': orderViolations,
    }
    const pass = first.every((r) => r.status === 201) && samePlace === again.length && positionsInOrder && everAdmitted.size === USERS && orderViolations === 0
    record(15, 'joining 100 times; admission order', figures, pass)
    expect(first.every((r) => r.status === 201)).toBe(true)
    expect(samePlace).toBe(again.length)
    expect(positionsInOrder).toBe(true)
    expect(everAdmitted.size).toBe(USERS)
    expect(orderViolations).toBe(0)
  }, 60_000)

  test("16. BOLA: reading, cancelling or paying another user's reservation, reading another's balance or history: 100% 404, 0 changes", async () => {
    const x = await cluster.createConcert({ seats: 10, price: 300 })
    const [owner, intruder] = await admitCrowd(cluster, x.concertId, ['s16-owner', 's16-intruder'])
    await cluster.charge(0, owner!.token, 1000)
    await cluster.charge(0, intruder!.token, 5000)
    const paidHold = await cluster.hold(0, owner!, x.scheduleIds[0]!, 1)
    const liveHold = await cluster.hold(0, owner!, x.scheduleIds[0]!, 2)
    expect((await cluster.pay(0, owner!, paidHold.body.reservationId)).status).toBe(201)
    expect((await cluster.hold(0, intruder!, x.scheduleIds[0]!, 3)).status).toBe(201) // keeps the intruder ACTIVE
    const snapshot = () => cluster.db.sql`
      select (select json_agg(r order by reservation_id) from (select reservation_id, status, expires_at from reservations where user_id = 's16-owner') r) as reservations,
             (select balance from balances where user_id = 's16-owner') as balance,
             (select count(*) from ledger where user_id = 's16-owner') as entries`
    const before = await snapshot()

    const attempts: { what: string; reply: Reply }[] = []
    for (let i = 0; i < 3; i++) {
      for (const [name, id] of [['paid', paidHold.body.reservationId], ['held', liveHold.body.reservationId]] as const) {
        attempts.push({ what: `read ${name}`, reply: await send(cluster.url(i), `/v1/reservations/${id}`, { token: intruder!.token }) })
        attempts.push({ what: `cancel ${name}`, reply: await send(cluster.url(i), `/v1/reservations/${id}`, { method: 'DELETE', token: intruder!.token }) })
        attempts.push({ what: `pay ${name}`, reply: await cluster.pay(i, intruder!, id) })
        attempts.push({ what: `pay ${name} with a key`, reply: await cluster.pay(i, intruder!, id, `s16-${name}-${i}`) })
      }
    }
    const not404 = attempts.filter((a) => a.reply.status !== 404)
    // The balance and the ledger have no id to point at: whatever the intruder sends, only their own come back.
    const reads = [
      await send(cluster.url(0), '/v1/balance', { token: intruder!.token }),
      await send(cluster.url(1), '/v1/balance?userId=s16-owner', { token: intruder!.token }),
      await send(cluster.url(2), '/v1/balance/history', { token: intruder!.token }),
      await send(cluster.url(0), '/v1/balance/history?userId=s16-owner', { token: intruder!.token }),
      await send(cluster.url(1), '/v1/reservations', { token: intruder!.token }),
    ]
    const leaks = reads.filter((r) => r.text.includes(paidHold.body.reservationId) || r.text.includes(liveHold.body.reservationId) || r.body?.balance === 700).length
    const after = await snapshot()
    const changed = JSON.stringify(before) === JSON.stringify(after) ? 0 : 1
    const { total } = await reportInvariants(cluster.db.sql, 'check 16')
    const figures = {
      attempts: attempts.length,
      '404': `${attempts.length - not404.length} of ${attempts.length}`,
      "reads showing the owner's data": leaks,
      "owner's rows changed": changed,
      'invariant violations': total,
    }
    if (not404.length) console.log('check 16 not 404:', not404.map((a) => `${a.what} ${a.reply.status}`))
    const pass = not404.length === 0 && leaks === 0 && changed === 0 && total === 0
    record(16, 'BOLA', figures, pass)
    expect(not404.map((a) => `${a.what} ${a.reply.status}`)).toEqual([])
    expect(leaks).toBe(0)
    expect(after).toEqual(before)
    expect(total).toBe(0)
  }, 60_000)

  test('17. mass assignment: extra fields (status, price, userId, balance) are 400 and change nothing', async () => {
    const x = await cluster.createConcert({ seats: 10, price: 500 })
    const [buyer] = await admitCrowd(cluster, x.concertId, ['s17-buyer'])
    await cluster.charge(0, buyer!.token, 1000)
    const hold = await cluster.hold(0, buyer!, x.scheduleIds[0]!, 1)
    const counts = () => cluster.db.sql`
      select (select count(*)::int from reservations) as reservations, (select count(*)::int from payments) as payments,
             (select count(*)::int from ledger) as entries, (select coalesce(sum(balance), 0)::int from balances) as balances,
             (select count(*)::int from concerts) as concerts, (select count(*)::int from seats where status <> 'AVAILABLE') as taken`
    const before = await counts()
    const extras = [{ status: 'PAID' }, { price: 1 }, { userId: 's17-other' }, { balance: 1_000_000 }, { amount: 1 }, { reservationId: hold.body.reservationId }]
    const attempts: { what: string; reply: Reply }[] = []
    for (const [i, extra] of extras.entries()) {
      const key = Object.keys(extra)[0]!
      const bodies: [string, string, Record<string, unknown>, Record<string, string>][] = [
        ['hold', '/v1/reservations', { scheduleId: x.scheduleIds[0], seatNumber: 5 }, {}],
        ['pay', '/v1/payments', { reservationId: hold.body.reservationId }, {}],
        ['charge', '/v1/balance/charges', { amount: 100 }, {}],
        ['join', '/v1/queue/tokens', { concertId: x.concertId }, {}],
        ['create concert', '/v1/admin/concerts', { title: 't', schedules: [{ startsAt: '2027-01-01T19:00:00Z', seatCount: 1, price: 10 }] }, { 'x-admin-key': ADMIN_KEY }],
        ['dev token', '/v1/dev/user-tokens', { userId: 's17-x' }, {}],
      ]
      for (const [what, path, body, headers] of bodies) {
        if (key in body) continue
        attempts.push({ what: `${what} + ${key}`, reply: await send(cluster.url(i), path, { ...buyer!, headers, body: { ...body, ...extra } }) })
      }
      // Nested: a schedule of a new concert with a field it does not have.
      if (key !== 'price') attempts.push({
        what: `create concert, schedule + ${key}`,
        reply: await send(cluster.url(i), '/v1/admin/concerts', {
          headers: { 'x-admin-key': ADMIN_KEY },
          body: { title: 't', schedules: [{ startsAt: '2027-01-01T19:00:00Z', seatCount: 1, price: 10, ...extra }] },
        }),
      })
    }
    const not400 = attempts.filter((a) => !(a.reply.status === 400 && a.reply.body?.code === 'VALIDATION_FAILED'))
    const after = await counts()
    const { total } = await reportInvariants(cluster.db.sql, 'check 17')
    const figures = {
      attempts: attempts.length,
      '400 VALIDATION_FAILED': `${attempts.length - not400.length} of ${attempts.length}`,
      'rows changed': JSON.stringify(before) === JSON.stringify(after) ? 0 : 1,
      'invariant violations': total,
    }
    if (not400.length) console.log('check 17 not 400:', not400.map((a) => `${a.what} ${a.reply.status}`))
    const pass = not400.length === 0 && figures['rows changed'] === 0 && total === 0
    record(17, 'mass assignment', figures, pass)
    expect(not400.map((a) => `${a.what} ${a.reply.status}`)).toEqual([])
    expect(after).toEqual(before)
  }, 60_000)
})
