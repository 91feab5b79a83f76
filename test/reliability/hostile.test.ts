import { afterAll, beforeAll, expect, test } from 'bun:test'
import { createHmac } from 'node:crypto'
import { ADMIN_KEY, TEST_SECRET } from '../support/app'
import { reportInvariants } from '../support/invariants'
import { describeWith } from '../support/services'
import { issuer, pool, send, startCluster, tally, type Cluster, type Reply, type Shopper } from './support/cluster'
import { admitCrowd } from './support/crowd'
import { record } from './support/results'

// What a hostile client tried and the first version let through (issue 9), over three real instances on
// one Postgres and one Redis: ids in other spellings, session rules under races, sessions kept alive by
// refused holds, user ids Postgres cannot store or would merge, answers stored under an Idempotency-Key
// that the operation never decided, bodies that are not JSON.

const ACTIVE_TTL = 6
const admin = { 'x-admin-key': ADMIN_KEY }
const fiveHundreds = (replies: Reply[]) => replies.filter((r) => r.status >= 500 || r.status === 0).length
const spell = (id: string, i: number) => [...id].map((c, k) => ((i >> k % 8) & 1 ? c.toUpperCase() : c)).join('')

describeWith(['DATABASE_URL', 'REDIS_URL'], 'reliability: hostile clients over three instances', () => {
  let cluster: Cluster
  beforeAll(async () => {
    cluster = await startCluster({ env: { QUEUE_ACTIVE_TTL_SECONDS: String(ACTIVE_TTL), MAX_HOLDS_PER_USER: '4' } })
  }, 60_000)
  afterAll(async () => {
    await cluster?.stop()
  }, 60_000)

  const status = async (i: number, s: Shopper) => (await send(cluster.url(i), '/v1/queue/status', s)).body
  const patchLine = (concertId: string, body: unknown) =>
    send(cluster.url(0), `/v1/admin/concerts/${concertId}/queue`, { method: 'PATCH', headers: admin, body })

  test('21. one concert, whatever the spelling: one line, one set of settings, one session; other forms 400, never 500', async () => {
    const { concertId, scheduleIds } = await cluster.createConcert({ seats: 10, price: 100 })
    const upper = concertId.toUpperCase()

    // Settings through the upper-case id are the line's settings: capacity 1, paused.
    expect((await patchLine(upper, { paused: true, maxActive: 1 })).status).toBe(200)
    const spellings = Array.from({ length: 20 }, (_, i) => spell(concertId, i + 1))
    const joined = await pool(spellings, 20, async (id, i) => {
      const token = await issuer.issue(`h21-${i}`)
      const reply = await send(cluster.url(i), '/v1/queue/tokens', { token, body: { concertId: id } })
      return { reply, shopper: { userId: `h21-${i}`, token, queueToken: reply.body.token as string } }
    })
    const lineIds = new Set(joined.map((j) => j.reply.body.concertId))
    const positions = joined.map((j) => j.reply.body.position).sort((a, b) => a - b)
    const readout = (await send(cluster.url(1), `/v1/admin/concerts/${spell(concertId, 77)}/queue`, { headers: admin })).body
    // Paused: nobody is admitted, whatever spelling they joined with.
    await Bun.sleep(1000)
    const whilePaused = await pool(joined, 20, async (j, i) => (await status(i + 1, j.shopper)).status)
    expect((await patchLine(concertId, { paused: false })).status).toBe(200)
    let mostActive = 0
    for (let k = 0; k < 10; k++) {
      await Bun.sleep(250)
      const states = await pool(joined, 20, async (j, i) => (await status(i, j.shopper)).status)
      mostActive = Math.max(mostActive, states.filter((s) => s === 'ACTIVE').length)
    }

    // The operator ends the active session through another spelling: that token can no longer pay.
    let active: Shopper | undefined
    while (!active) {
      const states = await pool(joined, 20, async (j, i) => ({ j, s: (await status(i, j.shopper)).status }))
      active = states.find((x) => x.s === 'ACTIVE')?.j.shopper
    }
    await cluster.charge(0, active.token, 1000)
    const held = await cluster.hold(1, active, scheduleIds[0]!, 1)
    expect(held.status).toBe(201)
    const ended = await send(cluster.url(2), `/v1/admin/concerts/${spell(concertId, 5)}/queue/sessions/${active.userId}`, { method: 'DELETE', headers: admin })
    const paidAfterEnd = await cluster.pay(0, active, held.body.reservationId)
    // Instance 1 saw the session ACTIVE moments ago (the hold): its next hold is refused all the same,
    // and the hold it made was released by the end (it could no longer be paid).
    const heldAfterEnd = await cluster.hold(1, active, scheduleIds[0]!, 2)
    const [release] = await cluster.db.sql`select status from reservations where reservation_id = ${held.body.reservationId}`

    // Other forms: 400 everywhere an id is read, never 500.
    const forms = [`urn:uuid:${concertId}`, `{${concertId}}`, concertId.replaceAll('-', ''), `${concertId} `, `${concertId}\u0000`]
    const someone = joined[0]!.shopper
    const attempts: Reply[] = []
    for (const id of forms) {
      const path = encodeURIComponent(id)
      attempts.push(await send(cluster.url(0), '/v1/queue/tokens', { token: someone.token, body: { concertId: id } }))
      attempts.push(await send(cluster.url(1), `/v1/concerts/${path}/schedules`, someone))
      attempts.push(await send(cluster.url(2), `/v1/schedules/${path}/seats`, someone))
      attempts.push(await send(cluster.url(0), '/v1/reservations', { ...someone, body: { scheduleId: id, seatNumber: 1 } }))
      attempts.push(await send(cluster.url(1), `/v1/reservations/${path}`, someone))
      attempts.push(await send(cluster.url(2), `/v1/reservations/${path}`, { ...someone, method: 'DELETE' }))
      attempts.push(await send(cluster.url(0), '/v1/payments', { ...someone, body: { reservationId: id } }))
      attempts.push(await send(cluster.url(1), `/v1/admin/concerts/${path}/queue`, { headers: admin }))
      attempts.push(await send(cluster.url(2), `/v1/admin/concerts/${path}/queue`, { method: 'PATCH', headers: admin, body: { paused: false } }))
      attempts.push(await send(cluster.url(0), `/v1/admin/concerts/${path}/queue/sessions/x`, { method: 'DELETE', headers: admin }))
    }
    const { total } = await reportInvariants(cluster.db.sql, 'check 21')
    const figures = {
      spellings: spellings.length,
      'lines they joined': lineIds.size,
      'distinct positions': new Set(positions).size,
      'waiting in the read-out': readout.waiting,
      'admitted while paused': whilePaused.filter((s) => s !== 'WAITING').length,
      'most ACTIVE at once (capacity 1)': mostActive,
      'paid after the operator ended the session': paidAfterEnd.status === 201 ? 1 : 0,
      'held after the end, on an instance that saw it ACTIVE': heldAfterEnd.status === 201 ? 1 : 0,
      'holds the end released': ended.body.holdsReleased,
      'other forms tried': attempts.length,
      'answered 400': attempts.filter((r) => r.status === 400).length,
      '5xx': fiveHundreds(attempts),
      'invariant violations': total,
    }
    const pass = lineIds.size === 1 && new Set(positions).size === 20 && readout.waiting === 20 && figures['admitted while paused'] === 0 &&
      mostActive === 1 && ended.status === 200 && paidAfterEnd.status === 403 && heldAfterEnd.status === 403 && release?.status === 'CANCELLED' &&
      figures['answered 400'] === attempts.length && total === 0
    record(21, 'identifier spellings', figures, pass)
    expect([...lineIds]).toEqual([concertId])
    expect(positions).toEqual(Array.from({ length: 20 }, (_, i) => i + 1))
    expect(readout.waiting).toBe(20)
    expect(figures['admitted while paused']).toBe(0)
    expect(mostActive).toBe(1)
    expect(ended.status).toBe(200)
    expect(paidAfterEnd.status).toBe(403)
    expect([heldAfterEnd.status, ended.body.holdsReleased, release?.status]).toEqual([403, 1, 'CANCELLED'])
    expect(tally(attempts)).toEqual({ 400: attempts.length })
    expect(total).toBe(0)
  }, 90_000)

  test('22. session end under races (10 rounds each): two payments at once, a payment beside a hold, a payment beside a cancel: never ACTIVE with nothing held, never DONE with a live hold; every 201 hold can be paid', async () => {
    const ROUNDS = 10
    const { concertId, scheduleIds } = await cluster.createConcert({ seats: 6 * ROUNDS, price: 100 })
    const users = await admitCrowd(cluster, concertId, Array.from({ length: 3 * ROUNDS }, (_, i) => `h22-${i}`))
    await pool(users, 30, (u) => cluster.charge(0, u.token, 1000))
    const seat = (round: number, k: number) => round * 6 + k + 1
    const violations: string[] = []
    let unpayable = 0
    let alreadyPaidAfterDone = 0

    const finalState = async (u: Shopper, label: string) => {
      const s = (await status(2, u)).status
      const [live] = await cluster.db.sql`
        select count(*)::int as n from reservations where user_id = ${u.userId} and status = 'HELD' and expires_at > now()`
      if (s === 'ACTIVE' && live!.n === 0) violations.push(`${label}: ACTIVE with nothing held`)
      // A payment ends the session only once nothing is left to pay: never DONE with a live hold.
      if (s === 'DONE' && live!.n > 0) violations.push(`${label}: DONE with a live hold`)
      if (s !== 'ACTIVE' && s !== 'DONE') violations.push(`${label}: ${s}`)
      return s
    }

    await pool(Array.from({ length: ROUNDS }, (_, r) => r), ROUNDS, async (r) => {
      const [a, b, c] = [users[3 * r]!, users[3 * r + 1]!, users[3 * r + 2]!]
      // The holds each scenario starts from, made at once: a hold extends its session (the sessions here
      // are ACTIVE_TTL seconds long, so a user who waited for the others' turns could run out first).
      const [h1, h2, first, c1, c2] = await Promise.all([
        cluster.hold(0, a, scheduleIds[0]!, seat(r, 0)),
        cluster.hold(1, a, scheduleIds[0]!, seat(r, 1)),
        cluster.hold(2, b, scheduleIds[0]!, seat(r, 2)),
        cluster.hold(0, c, scheduleIds[0]!, seat(r, 4)),
        cluster.hold(1, c, scheduleIds[0]!, seat(r, 5)),
      ])
      const setup = [h1, h2, first, c1, c2].filter((h) => h.status !== 201)
      if (setup.length) throw new Error(`round ${r}: holds to start from refused: ${setup.map((h) => `${h.status} ${h.body?.code}`)}`)

      // Two payments at once, on two instances.
      const paid = await Promise.all([cluster.pay(1, a, h1.body.reservationId, `p1-${r}`), cluster.pay(2, a, h2.body.reservationId)])
      if (paid.some((p) => p.status !== 201)) violations.push(`pay+pay ${r}: ${paid.map((p) => p.status)}`)
      if ((await finalState(a, `pay+pay ${r}`)) !== 'DONE') violations.push(`pay+pay ${r}: not DONE`)
      // Paying again once DONE: ALREADY_PAID without the key, the original 201 with it.
      const again = await cluster.pay(0, a, h1.body.reservationId)
      const replayed = await cluster.pay(0, a, h1.body.reservationId, `p1-${r}`)
      if (again.status === 409 && again.body.code === 'ALREADY_PAID' && replayed.status === 201) alreadyPaidAfterDone++

      // A payment and a new hold at once: a hold that answered 201 must be payable.
      const [pay1, hold2] = await Promise.all([cluster.pay(1, b, first.body.reservationId), cluster.hold(2, b, scheduleIds[0]!, seat(r, 3))])
      if (pay1.status !== 201) violations.push(`pay+hold ${r}: payment ${pay1.status}`)
      if (hold2.status === 201) {
        const pay2 = await cluster.pay(0, b, hold2.body.reservationId)
        if (pay2.status !== 201) unpayable++
      } else if (hold2.status !== 403) violations.push(`pay+hold ${r}: hold ${hold2.status} ${hold2.body?.code}`)
      await finalState(b, `pay+hold ${r}`)

      // A payment and a cancel of the other hold at once.
      const [payC, cancelC] = await Promise.all([
        cluster.pay(2, c, c1.body.reservationId),
        send(cluster.url(0), `/v1/reservations/${c2.body.reservationId}`, { token: c.token, method: 'DELETE' }),
      ])
      if (payC.status !== 201 || cancelC.status !== 200) violations.push(`pay+cancel ${r}: ${payC.status} ${cancelC.status}`)
      if ((await finalState(c, `pay+cancel ${r}`)) !== 'DONE') violations.push(`pay+cancel ${r}: not DONE`)
    })

    const { total } = await reportInvariants(cluster.db.sql, 'check 22')
    const figures = {
      rounds: `${ROUNDS} x 3`,
      'sessions left ACTIVE with nothing held, or wrong answers': violations.length,
      '201 holds that could not be paid': unpayable,
      'ALREADY_PAID after DONE (and the original key replays 201)': `${alreadyPaidAfterDone} of ${ROUNDS}`,
      'invariant violations': total,
    }
    if (violations.length) console.log('check 22:', violations)
    const pass = violations.length === 0 && unpayable === 0 && alreadyPaidAfterDone === ROUNDS && total === 0
    record(22, 'session end under races', figures, pass)
    expect(violations).toEqual([])
    expect(unpayable).toBe(0)
    expect(alreadyPaidAfterDone).toBe(ROUNDS)
    expect(total).toBe(0)
  }, 120_000)

  test('23. refused holds extend nothing: 409s and 404s leave activeUntil as it was, and the session runs out on time', async () => {
    const { concertId, scheduleIds } = await cluster.createConcert({ seats: 2, price: 100 })
    const [idle, holder] = await admitCrowd(cluster, concertId, ['h23-idle', 'h23-holder'])
    expect((await cluster.hold(0, holder!, scheduleIds[0]!, 1)).status).toBe(201)
    const before = (await status(0, idle!)).activeUntil as string
    const refused: Reply[] = []
    const deadline = Date.parse(before)
    while (Date.now() < deadline - 300) {
      refused.push(await cluster.hold(refused.length, idle!, scheduleIds[0]!, 1)) // held by someone: 409
      refused.push(await cluster.hold(refused.length, idle!, scheduleIds[0]!, 99)) // no such seat: 404
      await Bun.sleep(150)
    }
    const during = (await status(1, idle!)).activeUntil as string | null
    await Bun.sleep(Math.max(0, deadline - Date.now()) + 400)
    const after = (await status(2, idle!)).status
    const figures = {
      'refused holds': refused.length,
      'answers other than 409/404': refused.filter((r) => r.status !== 409 && r.status !== 404).length,
      'activeUntil moved': during === before ? 0 : 1,
      'state after activeUntil': after,
    }
    const pass = figures['answers other than 409/404'] === 0 && during === before && after === 'EXPIRED' && refused.length >= 4
    record(23, 'refused holds extend nothing', figures, pass)
    expect(refused.length).toBeGreaterThanOrEqual(4)
    expect(figures['answers other than 409/404']).toBe(0)
    expect(during).toBe(before)
    expect(after).toBe('EXPIRED')
  }, 60_000)

  test('23b. past its own time a session lives only to pay what it holds: no new hold, and cancelling the last hold ends it', async () => {
    const { concertId, scheduleIds } = await cluster.createConcert({ seats: 4, price: 100 })
    const [payer, canceller] = await admitCrowd(cluster, concertId, ['h23b-payer', 'h23b-canceller'])
    await cluster.charge(0, payer!.token, 1000)
    const ownEnd = Date.parse((await status(0, payer!)).activeUntil)
    const held = await cluster.hold(1, payer!, scheduleIds[0]!, 1)
    const kept = await cluster.hold(2, canceller!, scheduleIds[0]!, 3)
    expect([held.status, kept.status]).toEqual([201, 201])
    await Bun.sleep(Math.max(0, ownEnd - Date.now()) + 500)

    const extended = (await status(0, payer!)).status
    const another = await cluster.hold(0, payer!, scheduleIds[0]!, 2)
    const paid = await cluster.pay(1, payer!, held.body.reservationId)
    const afterPaying = (await status(2, payer!)).status
    const cancelled = await send(cluster.url(0), `/v1/reservations/${kept.body.reservationId}`, { token: canceller!.token, method: 'DELETE' })
    const afterCancelling = (await status(1, canceller!)).status
    const figures = {
      'status past its own time, with a live hold': extended,
      'a new hold then': `${another.status} ${another.body?.code ?? ''}`.trim(),
      'paying the hold it has': paid.status,
      'status after paying': afterPaying,
      'status after cancelling its last hold': afterCancelling,
    }
    const pass = extended === 'ACTIVE' && another.status === 403 && paid.status === 201 && afterPaying === 'DONE' &&
      cancelled.status === 200 && afterCancelling === 'EXPIRED'
    record('23b', 'a session outlives its time only to pay', figures, pass)
    expect(figures).toEqual({
      'status past its own time, with a live hold': 'ACTIVE',
      'a new hold then': '403 QUEUE_NOT_ACTIVE',
      'paying the hold it has': 201,
      'status after paying': 'DONE',
      'status after cancelling its last hold': 'EXPIRED',
    })
  }, 60_000)

  test('24. hostile user ids: NUL, lone surrogates, control characters, bytes that are not UTF-8, 10 KB: 401, never 500, never one account for two subjects', async () => {
    const sign = (payload: Buffer) => {
      const header = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url')
      const body = payload.toString('base64url')
      const signature = createHmac('sha256', TEST_SECRET).update(`${header}.${body}`).digest('base64url')
      return `${header}.${body}.${signature}`
    }
    const withSub = (json: string) => sign(Buffer.from(`{"sub":${json},"exp":${Math.floor(Date.now() / 1000) + 600}}`))
    const hostile: [string, string][] = [
      ['NUL', withSub('"h24\\u0000a"')],
      ['lone high surrogate', withSub('"h24\\ud800"')],
      ['lone low surrogate', withSub('"h24\\udc00"')],
      ['bell', withSub('"h24\\u0007"')],
      ['DEL', withSub('"h24\\u007f"')],
      ['C1 control', withSub('"h24\\u0085"')],
      ['empty', withSub('""')],
      ['129 characters', withSub(JSON.stringify('x'.repeat(129)))],
      ['10 KB', withSub(JSON.stringify('y'.repeat(10_240)))],
      ['not a string', withSub('42')],
      ['byte 0xFF (not UTF-8)', sign(Buffer.concat([Buffer.from('{"sub":"h24'), Buffer.from([0xff]), Buffer.from(`","exp":${Math.floor(Date.now() / 1000) + 600}}`)]))],
      ['byte 0xFE (not UTF-8)', sign(Buffer.concat([Buffer.from('{"sub":"h24'), Buffer.from([0xfe]), Buffer.from(`","exp":${Math.floor(Date.now() / 1000) + 600}}`)]))],
    ]
    const replies: { what: string; reply: Reply }[] = []
    for (const [what, token] of hostile) {
      replies.push({ what: `${what}: balance`, reply: await send(cluster.url(0), '/v1/balance', { token }) })
      replies.push({ what: `${what}: charge`, reply: await send(cluster.url(1), '/v1/balance/charges', { token, body: { amount: 100 } }) })
      replies.push({ what: `${what}: reservations`, reply: await send(cluster.url(2), '/v1/reservations', { token }) })
    }
    // U+FFFD itself and an astral character are well-formed: their own accounts, not each other's.
    const replacement = withSub('"h24\\ufffd"')
    const astral = withSub('"h24\\ud83c\\udfb5"')
    const charged = await send(cluster.url(0), '/v1/balance/charges', { token: replacement, body: { amount: 700 } })
    const astralBalance = (await send(cluster.url(1), '/v1/balance', { token: astral })).body.balance
    const accounts = (await cluster.db.sql`select user_id from balances where user_id like 'h24%'`).map((r) => r.user_id)
    const [ledger] = await cluster.db.sql`select count(*)::int as n from ledger where user_id like 'h24%'`
    const figures = {
      'hostile tokens': hostile.length,
      requests: replies.length,
      'answered 401': replies.filter((r) => r.reply.status === 401).length,
      '5xx': fiveHundreds(replies.map((r) => r.reply)),
      'accounts (only h24 + U+FFFD may have one)': accounts.length,
      'balance another subject sees': astralBalance,
    }
    const pass = figures['answered 401'] === replies.length && charged.status === 201 && astralBalance === 0 && ledger!.n === 1 &&
      accounts.length === 1 && accounts[0] === 'h24\ufffd'
    record(24, 'hostile user ids', figures, pass)
    expect(replies.filter((r) => r.reply.status !== 401).map((r) => `${r.what} ${r.reply.status}`)).toEqual([])
    expect(charged.status).toBe(201)
    expect(astralBalance).toBe(0)
    expect(ledger!.n).toBe(1)
    expect(accounts).toEqual(['h24\ufffd'])
  }, 60_000)

  test('25. idempotency scope: a request refused by authentication, the queue guard, validation or "not found" is not stored; the retry with the same key works', async () => {
    const x = await cluster.createConcert({ seats: 4, price: 100 })
    const other = await cluster.createConcert({ seats: 4 })
    const [buyer] = await admitCrowd(cluster, x.concertId, ['h25-buyer'])
    const [elsewhere] = await admitCrowd(cluster, other.concertId, ['h25-buyer'])
    const [stranger] = await admitCrowd(cluster, x.concertId, ['h25-stranger'])
    const results: Record<string, string> = {}

    // Validation: a charge of 0 with key K, then the right amount with K.
    const badCharge = await cluster.charge(0, buyer!.token, 0, 'h25-charge')
    const goodCharge = await cluster.charge(1, buyer!.token, 500, 'h25-charge')
    results['validation, then a charge'] = `${badCharge.status} -> ${goodCharge.status}`

    // Three live holds, so that no payment below ends the session.
    const [r1, r2, r3] = await Promise.all([1, 2, 3].map((n) => cluster.hold(n, buyer!, x.scheduleIds[0]!, n)))
    const strangers = await cluster.hold(0, stranger!, x.scheduleIds[0]!, 4)
    const pay = (i: number, credentials: { token: string; queueToken: string }, reservationId: string, key: string) =>
      send(cluster.url(i), '/v1/payments', { ...credentials, body: { reservationId }, headers: { 'idempotency-key': key } })

    // Authentication: a forged user token with key K, then the real one with K.
    const forged = await pay(0, { token: `${buyer!.token}x`, queueToken: buyer!.queueToken }, r1!.body.reservationId, 'h25-auth')
    const auth = await pay(1, buyer!, r1!.body.reservationId, 'h25-auth')
    results['authentication, then the payment'] = `${forged.status} -> ${auth.status}`
    // The queue guard: another concert's queue token with K, then the right one with K.
    const wrongLine = await pay(2, { token: buyer!.token, queueToken: elsewhere!.queueToken }, r2!.body.reservationId, 'h25-guard')
    const guard = await pay(0, buyer!, r2!.body.reservationId, 'h25-guard')
    results['queue guard, then the payment'] = `${wrongLine.status} -> ${guard.status}`
    // Not found: someone else's reservation with K, then one's own with K (another body: 422 if stored).
    const notMine = await pay(1, buyer!, strangers.body.reservationId, 'h25-404')
    const own = await pay(2, buyer!, r3!.body.reservationId, 'h25-404')
    results['not found, then another body'] = `${notMine.status} -> ${own.status}`

    const [payments] = await cluster.db.sql`select count(*)::int as n from payments where user_id like 'h25-%'`
    const expected = {
      'validation, then a charge': '400 -> 201',
      'authentication, then the payment': '401 -> 201',
      'queue guard, then the payment': '403 -> 201',
      'not found, then another body': '404 -> 201',
    }
    record(25, 'idempotency scope', { ...results, payments: payments!.n }, JSON.stringify(results) === JSON.stringify(expected) && payments!.n === 3)
    expect(results).toEqual(expected)
    expect(payments!.n).toBe(3)
  }, 60_000)

  test('26. bodies that are not JSON: 415 and nothing changes; oversized headers get an answer', async () => {
    const token = await issuer.issue('h26')
    const types = ['text/plain', 'application/xml', 'image/png', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=latin1', 'application/jsonx', null]
    const replies: Reply[] = []
    for (const [i, type] of types.entries()) {
      if (type !== null) {
        replies.push(await send(cluster.url(i), '/v1/balance/charges', { token, rawBody: JSON.stringify({ amount: 100 }), headers: { 'content-type': type } }))
        continue
      }
      // No Content-Type at all (send() would add one): a bare fetch with a body of bytes.
      const response = await fetch(`${cluster.url(i)}/v1/balance/charges`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
        body: new TextEncoder().encode(JSON.stringify({ amount: 100 })),
      })
      replies.push({ status: response.status, headers: response.headers, body: await response.json(), text: '', ms: 0 })
    }
    const balance = (await send(cluster.url(0), '/v1/balance', { token })).body.balance
    const utf8 = await send(cluster.url(1), '/v1/balance/charges', { token, rawBody: JSON.stringify({ amount: 100 }), headers: { 'content-type': 'application/json; charset=UTF-8' } })
    const huge = await send(cluster.url(2), '/v1/balance', { token, headers: { 'x-filler': 'z'.repeat(200_000) }, timeoutMs: 5000 })
    const figures = {
      'media types tried': types.length,
      'answered 415': replies.filter((r) => r.status === 415 && r.body?.code === 'UNSUPPORTED_MEDIA_TYPE').length,
      'balance after': balance,
      'application/json; charset=UTF-8': utf8.status,
      'a 200 KB header': huge.status === 0 ? `no answer (${huge.error})` : huge.status,
    }
    const pass = figures['answered 415'] === types.length && balance === 0 && utf8.status === 201 && huge.status >= 400
    record(26, 'content types and headers', figures, pass)
    expect(replies.map((r) => r.status)).toEqual(types.map(() => 415))
    expect(balance).toBe(0)
    expect(utf8.status).toBe(201)
    expect(huge.status).toBeGreaterThanOrEqual(400)
  }, 30_000)
})
