import { afterAll, beforeAll, expect, test } from 'bun:test'
import { reportInvariants } from '../support/invariants'
import { describeWith } from '../support/services'
import { pool, send, startCluster, type Cluster, type Reply } from './support/cluster'
import { admitCrowd } from './support/crowd'
import { record } from './support/results'

// Races over three real instances on one Postgres and one Redis: holds on one seat, a crowd on a small
// hall, double spending, and Idempotency-Key replays, races and misuse.

const MAX_HOLDS = 2
const fiveHundreds = (replies: Reply[]) => replies.filter((r) => r.status >= 500 || r.status === 0).length

describeWith(['DATABASE_URL', 'REDIS_URL'], 'reliability: races over three instances', () => {
  let cluster: Cluster
  beforeAll(async () => {
    cluster = await startCluster({ env: { MAX_HOLDS_PER_USER: String(MAX_HOLDS) } })
  }, 60_000)
  afterAll(async () => {
    await cluster?.stop()
  }, 60_000)

  test('1. one seat, 1,000 concurrent holds from 1,000 users over 3 instances: exactly one succeeds', async () => {
    const { concertId, scheduleIds } = await cluster.createConcert({ seats: 1 })
    const users = await admitCrowd(cluster, concertId, Array.from({ length: 1000 }, (_, i) => `r1-${i}`))

    const replies = await Promise.all(users.map((u, i) => cluster.hold(i, u, scheduleIds[0]!, 1)))

    const successes = replies.filter((r) => r.status === 201).length
    const unavailable = replies.filter((r) => r.status === 409 && r.body.code === 'SEAT_UNAVAILABLE').length
    const errors = fiveHundreds(replies)
    const [rows] = await cluster.db.sql`select count(*)::int as n from reservations where schedule_id = ${scheduleIds[0]!}`
    const { total } = await reportInvariants(cluster.db.sql, 'check 1')
    const figures = { successes: `${successes} of 1000`, SEAT_UNAVAILABLE: unavailable, '5xx': errors, 'reservation rows': rows!.n, 'invariant violations': total }
    const pass = successes === 1 && unavailable === 999 && errors === 0 && rows!.n === 1 && total === 0
    record(1, 'one seat, 1,000 holds over 3 instances', figures, pass)
    expect(figures).toEqual({ successes: '1 of 1000', SEAT_UNAVAILABLE: 999, '5xx': 0, 'reservation rows': 1, 'invariant violations': 0 })
  }, 120_000)

  test('2. 10,000 users, 500 seats, random targets: no seat held or sold twice, successes = rows, hold cap kept', async () => {
    const SEATS = 500
    const price = 1000
    const { concertId, scheduleIds } = await cluster.createConcert({ seats: SEATS, price })
    const scheduleId = scheduleIds[0]!
    const users = await admitCrowd(cluster, concertId, Array.from({ length: 10_000 }, (_, i) => `r2-${i}`))

    // Every user tries three random seats at once; the cap is two live holds.
    const attempts = await pool(users, 200, async (u, i) =>
      Promise.all([0, 1, 2].map((k) => cluster.hold(i + k, u, scheduleId, 1 + Math.floor(Math.random() * SEATS)))),
    )
    const all = attempts.flat()
    const won = attempts.map((replies, i) => ({ user: users[i]!, holds: replies.filter((r) => r.status === 201) }))
    const successes = all.filter((r) => r.status === 201).length
    const perSeat = new Map<number, number>()
    for (const r of all) if (r.status === 201) perSeat.set(r.body.seatNumber, (perSeat.get(r.body.seatNumber) ?? 0) + 1)
    const heldTwice = [...perSeat.values()].filter((n) => n > 1).length
    const overCap = won.filter((w) => w.holds.length > MAX_HOLDS).length
    const capRefusals = all.filter((r) => r.body?.code === 'HOLD_LIMIT_REACHED').length
    const unexpected = all.filter((r) => r.status !== 201 && !(r.status === 409 && ['SEAT_UNAVAILABLE', 'HOLD_LIMIT_REACHED'].includes(r.body?.code))).length

    // Half the winners pay (charging first), a quarter cancel, the rest keep holding.
    const settled = await pool(
      won.flatMap((w) => w.holds.map((h) => ({ user: w.user, reservationId: h.body.reservationId as string }))),
      64,
      async ({ user, reservationId }, i) => {
        const roll = Math.random()
        if (roll < 0.5) {
          await cluster.charge(i, user.token, price)
          return cluster.pay(i + 1, user, reservationId, `pay-${reservationId}`)
        }
        if (roll < 0.75) return send(cluster.url(i), `/v1/reservations/${reservationId}`, { method: 'DELETE', token: user.token })
        return null
      },
    )
    const settleErrors = fiveHundreds(settled.filter((r): r is Reply => r !== null))
    const paid = settled.filter((r) => r?.status === 201 && r.body.status === 'PAID').length

    const [rows] = await cluster.db.sql`
      select count(*)::int as n, count(*) filter (where status = 'PAID')::int as paid from reservations where schedule_id = ${scheduleId}`
    const { total } = await reportInvariants(cluster.db.sql, 'check 2', { maxHoldsPerUser: MAX_HOLDS })
    const figures = {
      'hold attempts': all.length,
      successes,
      'reservation rows': rows!.n,
      'seats held twice': heldTwice,
      'users over the cap': overCap,
      HOLD_LIMIT_REACHED: capRefusals,
      paid: `${paid} (rows ${rows!.paid})`,
      'unexpected answers': unexpected + settleErrors + fiveHundreds(all),
      'invariant violations': total,
    }
    const pass = successes === rows!.n && successes <= SEATS && heldTwice === 0 && overCap === 0 && capRefusals > 0 &&
      unexpected + settleErrors === 0 && paid === rows!.paid && total === 0
    record(2, '10,000 users, 500 seats, random targets', figures, pass)
    expect(successes).toBe(rows!.n)
    expect(heldTwice).toBe(0)
    expect(overCap).toBe(0)
    expect(capRefusals).toBeGreaterThan(0)
    expect(unexpected + settleErrors).toBe(0)
    expect(paid).toBe(rows!.paid)
    expect(total).toBe(0)
  }, 240_000)

  test('4. double spend: 200 concurrent payments each over half the balance: at most one succeeds, balance never below 0', async () => {
    const price = 10_000
    const balance = 15_000 // every payment is over balance/2: floor(balance / price) = 1
    const { concertId, scheduleIds } = await cluster.createConcert({ seats: 2, price })
    const [spender] = await admitCrowd(cluster, concertId, ['r4-spender'])
    expect((await cluster.charge(0, spender!.token, balance)).status).toBe(201)
    const holds = [await cluster.hold(0, spender!, scheduleIds[0]!, 1), await cluster.hold(1, spender!, scheduleIds[0]!, 2)]
    expect(holds.map((h) => h.status)).toEqual([201, 201])

    const replies = await Promise.all(
      Array.from({ length: 200 }, (_, i) => cluster.pay(i, spender!, holds[i % 2]!.body.reservationId)),
    )

    const successes = replies.filter((r) => r.status === 201).length
    const declined = replies.filter((r) => (r.status === 402 && r.body.code === 'INSUFFICIENT_BALANCE') || (r.status === 409 && r.body.code === 'ALREADY_PAID')).length
    const [money] = await cluster.db.sql`
      select b.balance::int as balance, (select min(balance_after)::int from ledger where user_id = 'r4-spender') as lowest,
        (select count(*)::int from ledger where user_id = 'r4-spender' and kind = 'PAYMENT') as debits
      from balances b where user_id = 'r4-spender'`
    const { total } = await reportInvariants(cluster.db.sql, 'check 4')
    const figures = {
      successes: `${successes} of 200 (allowed ${Math.floor(balance / price)})`,
      declined,
      '5xx': fiveHundreds(replies),
      debits: money!.debits,
      'final balance': money!.balance,
      'lowest balance': money!.lowest,
      'invariant violations': total,
    }
    const pass = successes === 1 && declined === 199 && money!.balance === balance - price && money!.lowest >= 0 && money!.debits === 1 && total === 0
    record(4, 'double spend: 200 concurrent payments over half the balance', figures, pass)
    expect(successes).toBe(1)
    expect(declined).toBe(199)
    expect(money).toEqual({ balance: balance - price, lowest: balance - price, debits: 1 })
    expect(total).toBe(0)
  }, 60_000)

  test('6. idempotent replay: one key 50 times in a row gives one effect and the same status and body', async () => {
    const { concertId, scheduleIds } = await cluster.createConcert({ seats: 2, price: 700 })
    const [buyer] = await admitCrowd(cluster, concertId, ['r6-buyer'])
    const [broke] = await admitCrowd(cluster, concertId, ['r6-broke'])

    const charges = []
    for (let i = 0; i < 50; i++) charges.push(await cluster.charge(i, buyer!.token, 1000, 'r6-charge'))
    const hold = await cluster.hold(0, buyer!, scheduleIds[0]!, 1)
    const payments = []
    for (let i = 0; i < 50; i++) payments.push(await cluster.pay(i, buyer!, hold.body.reservationId, 'r6-pay'))
    // A declined payment is an answer too: it replays as it was, even after the balance would allow it.
    const brokeHold = await cluster.hold(1, broke!, scheduleIds[0]!, 2)
    const declines = []
    for (let i = 0; i < 50; i++) {
      if (i === 25) await cluster.charge(0, broke!.token, 5000)
      declines.push(await cluster.pay(i, broke!, brokeHold.body.reservationId, 'r6-declined'))
    }

    const distinct = (replies: Reply[]) => new Set(replies.map((r) => `${r.status} ${r.text}`)).size
    const [effects] = await cluster.db.sql`
      select (select count(*)::int from ledger where user_id = 'r6-buyer' and kind = 'CHARGE') as charges,
             (select count(*)::int from ledger where user_id = 'r6-buyer' and kind = 'PAYMENT') as payments,
             (select count(*)::int from ledger where user_id = 'r6-broke' and kind = 'PAYMENT') as declined_debits`
    const { total } = await reportInvariants(cluster.db.sql, 'check 6')
    const figures = {
      'distinct answers (charge, payment, declined payment)': `${distinct(charges)}, ${distinct(payments)}, ${distinct(declines)}`,
      statuses: `${charges[0]!.status}, ${payments[0]!.status}, ${declines[0]!.status}`,
      'effects (charges, debits, debits of the declined)': `${effects!.charges}, ${effects!.payments}, ${effects!.declined_debits}`,
      'invariant violations': total,
    }
    const pass = distinct(charges) === 1 && distinct(payments) === 1 && distinct(declines) === 1 && charges[0]!.status === 201 &&
      payments[0]!.status === 201 && declines[0]!.status === 402 && effects!.charges === 1 && effects!.payments === 1 &&
      effects!.declined_debits === 0 && total === 0
    record(6, 'idempotent replay: one key 50 times in a row', figures, pass)
    expect(figures).toEqual({
      'distinct answers (charge, payment, declined payment)': '1, 1, 1',
      statuses: '201, 201, 402',
      'effects (charges, debits, debits of the declined)': '1, 1, 0',
      'invariant violations': 0,
    })
  }, 60_000)

  test('7. idempotent race: one key 50 times at once over 3 instances gives one effect; the rest replay or 409', async () => {
    const { concertId, scheduleIds } = await cluster.createConcert({ seats: 1, price: 900 })
    const [buyer] = await admitCrowd(cluster, concertId, ['r7-buyer'])

    const charges = await Promise.all(Array.from({ length: 50 }, (_, i) => cluster.charge(i, buyer!.token, 1000, 'r7-charge')))
    const hold = await cluster.hold(0, buyer!, scheduleIds[0]!, 1)
    const payments = await Promise.all(Array.from({ length: 50 }, (_, i) => cluster.pay(i, buyer!, hold.body.reservationId, 'r7-pay')))

    const judge = (replies: Reply[]) => {
      const first = replies.find((r) => r.status === 201)
      const replays = replies.filter((r) => r.status === 201 && r.text === first?.text).length
      const inProgress = replies.filter((r) => r.status === 409 && r.body.code === 'IDEMPOTENCY_IN_PROGRESS').length
      return { replays, inProgress, other: replies.length - replays - inProgress }
    }
    const c = judge(charges)
    const p = judge(payments)
    const [effects] = await cluster.db.sql`
      select (select count(*)::int from ledger where user_id = 'r7-buyer' and kind = 'CHARGE') as charges,
             (select count(*)::int from ledger where user_id = 'r7-buyer' and kind = 'PAYMENT') as payments`
    const { total } = await reportInvariants(cluster.db.sql, 'check 7')
    const figures = {
      'charge: same 201 / 409 in progress / other': `${c.replays} / ${c.inProgress} / ${c.other}`,
      'payment: same 201 / 409 in progress / other': `${p.replays} / ${p.inProgress} / ${p.other}`,
      'effects (charges, debits)': `${effects!.charges}, ${effects!.payments}`,
      'invariant violations': total,
    }
    const pass = c.other === 0 && p.other === 0 && c.replays >= 1 && p.replays >= 1 && effects!.charges === 1 && effects!.payments === 1 && total === 0
    record(7, 'idempotent race: one key 50 times at once over 3 instances', figures, pass)
    expect(c.other).toBe(0)
    expect(p.other).toBe(0)
    expect(effects).toEqual({ charges: 1, payments: 1 })
    expect(total).toBe(0)
  }, 60_000)

  test('8. key misuse: same key with another body is 422 with no effect; another user never sees the first response', async () => {
    const { concertId, scheduleIds } = await cluster.createConcert({ seats: 2, price: 500 })
    const [alice] = await admitCrowd(cluster, concertId, ['r8-alice'])
    const [mallory] = await admitCrowd(cluster, concertId, ['r8-mallory'])

    const first = await cluster.charge(0, alice!.token, 1000, 'r8-key')
    const reused = await cluster.charge(1, alice!.token, 2000, 'r8-key')
    const hold = await cluster.hold(0, alice!, scheduleIds[0]!, 1)
    const paid = await cluster.pay(0, alice!, hold.body.reservationId, 'r8-pay')
    const payReused = await cluster.pay(1, alice!, scheduleIds[0]!, 'r8-pay') // another body (any uuid)
    // Mallory sends Alice's keys with Alice's bodies: they are Mallory's own keys, nothing of Alice's comes back.
    const theirCharge = await cluster.charge(2, mallory!.token, 1000, 'r8-key')
    const theirPay = await cluster.pay(2, mallory!, hold.body.reservationId, 'r8-pay')

    const [state] = await cluster.db.sql`
      select (select balance::int from balances where user_id = 'r8-alice') as alice,
             (select count(*)::int from ledger where user_id = 'r8-alice') as alice_entries,
             (select balance::int from balances where user_id = 'r8-mallory') as mallory,
             (select count(*)::int from payments where user_id = 'r8-mallory') as mallory_payments`
    const { total } = await reportInvariants(cluster.db.sql, 'check 8')
    const leaks = [theirCharge, theirPay].filter((r) => r.text === first.text || r.text === paid.text || r.body?.chargeId === first.body.chargeId).length
    const figures = {
      'reused key, other body': `${reused.status} ${reused.body.code}, ${payReused.status} ${payReused.body.code}`,
      "another user's key": `${theirCharge.status} (own charge), ${theirPay.status} ${theirPay.body.code ?? ''}`.trim(),
      'responses leaked': leaks,
      'extra effects': (state!.alice_entries - 2) + state!.mallory_payments,
      'invariant violations': total,
    }
    const pass = reused.status === 422 && payReused.status === 422 && theirCharge.status === 201 && theirPay.status === 404 &&
      leaks === 0 && state!.alice === 500 && state!.alice_entries === 2 && state!.mallory === 1000 && state!.mallory_payments === 0 && total === 0
    record(8, 'key misuse', figures, pass)
    expect(reused.body.code).toBe('IDEMPOTENCY_KEY_REUSED')
    expect(payReused.body.code).toBe('IDEMPOTENCY_KEY_REUSED')
    expect(theirCharge.status).toBe(201)
    expect(theirPay.status).toBe(404)
    expect(leaks).toBe(0)
    expect(state).toEqual({ alice: 500, alice_entries: 2, mallory: 1000, mallory_payments: 0 })
    expect(total).toBe(0)
  }, 60_000)
})


