import { afterAll, beforeAll, expect, test } from 'bun:test'
import fc from 'fast-check'
import { ADMIN_KEY } from '../support/app'
import { checkInvariants, reportInvariants, violations } from '../support/invariants'
import { describeWith } from '../support/services'
import { issuer, pool, send, startCluster, type Cluster, type Reply, type Shopper } from './support/cluster'
import { admitCrowd } from './support/crowd'
import { record } from './support/results'

// Money under time pressure, over three real instances with 2-second holds: paying at the instant a hold
// lapses, a soak of random charges/holds/payments/cancels/lapses, and the edges of the money fields.

const HOLD_TTL = 2
const MAX_CHARGE = 10_000_000
const MAX_BALANCE = 30_000_000
// `bun run reliability:soak` sets this to minutes; the normal test run keeps it short.
const SOAK_SECONDS = Number(process.env.RELIABILITY_SOAK_SECONDS ?? 20)

const failed = (r: Reply) => r.status >= 500 || r.status === 0

describeWith(['DATABASE_URL', 'REDIS_URL'], 'reliability: money over three instances', () => {
  let cluster: Cluster
  beforeAll(async () => {
    cluster = await startCluster({
      env: { HOLD_TTL_SECONDS: String(HOLD_TTL), MAX_CHARGE: String(MAX_CHARGE), MAX_BALANCE: String(MAX_BALANCE) },
    })
  }, 60_000)
  afterAll(async () => {
    await cluster?.stop()
  }, 60_000)

  test('3. pay at the hold expiry ±50 ms while another user grabs the seat: sold at most once, no debit without a sale', async () => {
    const ROUNDS = 100
    const BATCH = 20
    const price = 1000
    const { concertId, scheduleIds } = await cluster.createConcert({ seats: ROUNDS, price })
    const holders = await admitCrowd(cluster, concertId, Array.from({ length: ROUNDS }, (_, i) => `m3-holder-${i}`))
    const grabbers = await admitCrowd(cluster, concertId, Array.from({ length: ROUNDS }, (_, i) => `m3-grabber-${i}`))
    await pool(holders, 32, (h, i) => cluster.charge(i, h.token, price))

    const outcomes: { offset: number; pay: Reply; grab: Reply }[] = []
    for (let start = 0; start < ROUNDS; start += BATCH) {
      const batch = await Promise.all(
        Array.from({ length: BATCH }, async (_, k) => {
          const i = start + k
          const hold = await cluster.hold(i, holders[i]!, scheduleIds[0]!, i + 1)
          if (hold.status !== 201) throw new Error(`hold ${i}: ${hold.status} ${hold.text}`)
          const offset = Math.round(Math.random() * 100 - 50)
          await Bun.sleep(Math.max(0, Date.parse(hold.body.expiresAt) + offset - Date.now()))
          const [pay, grab] = await Promise.all([
            cluster.pay(i, holders[i]!, hold.body.reservationId, `m3-${i}`),
            cluster.hold(i + 1, grabbers[i]!, scheduleIds[0]!, i + 1),
          ])
          return { offset, pay, grab }
        }),
      )
      outcomes.push(...batch)
    }

    const paid = outcomes.filter((o) => o.pay.status === 201).length
    const lapsed = outcomes.filter((o) => o.pay.status === 409 && o.pay.body.code === 'HOLD_EXPIRED').length
    const grabbed = outcomes.filter((o) => o.grab.status === 201).length
    const both = outcomes.filter((o) => o.pay.status === 201 && o.grab.status === 201).length
    const unexpected = outcomes.filter(
      (o) => !(o.pay.status === 201 || (o.pay.status === 409 && o.pay.body.code === 'HOLD_EXPIRED')) ||
        !(o.grab.status === 201 || (o.grab.status === 409 && o.grab.body.code === 'SEAT_UNAVAILABLE')),
    ).length
    const [money] = await cluster.db.sql`
      select count(*) filter (where balance = 0)::int as debited, count(*) filter (where balance = ${price})::int as untouched
      from balances where user_id like 'm3-holder-%'`
    const { total } = await reportInvariants(cluster.db.sql, 'check 3')
    const figures = {
      rounds: ROUNDS,
      'paid in time': paid,
      'HOLD_EXPIRED': lapsed,
      'grabbed by the other': grabbed,
      'sold and grabbed': both,
      'holders debited': money!.debited,
      'unexpected answers': unexpected,
      'invariant violations': total,
    }
    const pass = both === 0 && unexpected === 0 && money!.debited === paid && money!.untouched === ROUNDS - paid && total === 0
    record(3, 'pay at the hold expiry ±50 ms while another grabs the seat', figures, pass)
    expect(both).toBe(0)
    expect(unexpected).toBe(0)
    expect(money).toEqual({ debited: paid, untouched: ROUNDS - paid })
    expect(total).toBe(0)
  }, 120_000)

  test(`5. conservation: ${SOAK_SECONDS} s of random charge/hold/pay/cancel/lapse over 3 instances keeps every balance on its ledger`, async () => {
    const WORKERS = 40
    const seats = Math.min(100_000, Math.max(300, SOAK_SECONDS * 20))
    const { concertId, scheduleIds } = await cluster.createConcert({ seats, price: 700, schedules: 2 })
    const counts = { requests: 0, failures: 0, charges: 0, holds: 0, payments: 0, cancels: 0, rejoins: 0, midRunChecks: 0, midRunViolations: 0 }
    const chargeIds = new Set<string>()
    const paymentIds = new Set<string>()
    const failures: string[] = []
    const deadline = Date.now() + SOAK_SECONDS * 1000

    const note = (r: Reply, what: string) => {
      counts.requests++
      if (failed(r)) {
        counts.failures++
        if (failures.length < 5) failures.push(`${what}: ${r.status} ${r.error ?? r.text.slice(0, 200)}`)
      }
      return r
    }

    async function worker(w: number) {
      const userId = `m5-${w}`
      const token = await issuer.issue(userId)
      let me: Shopper | null = null
      const holds: string[] = []
      const keys: { key: string; amount: number }[] = []
      let i = w
      while (Date.now() < deadline) {
        i++
        if (!me) {
          const joined = note(await send(cluster.url(i), '/v1/queue/tokens', { token, body: { concertId } }), 'join')
          if (joined.status === 409) break // sold out
          if (joined.status >= 300) continue
          me = { userId, token, queueToken: joined.body.token }
          counts.rejoins++
          let status = joined.body.status
          while (status === 'WAITING' && Date.now() < deadline) {
            await Bun.sleep(Math.min(joined.body.pollAfterMs ?? 500, 500))
            status = note(await send(cluster.url(++i), '/v1/queue/status', me), 'poll').body?.status
          }
          continue
        }
        const roll = Math.random()
        if (roll < 0.25) {
          // A new charge, or a replay of an earlier key (which must not count twice).
          const again = keys.length > 0 && Math.random() < 0.3 ? keys[Math.floor(Math.random() * keys.length)]! : null
          const key = again ?? { key: `m5-${w}-${i}`, amount: 1 + Math.floor(Math.random() * 3000) }
          if (!again) keys.push(key)
          const r = note(await cluster.charge(i, token, key.amount, key.key), 'charge')
          if (r.status === 201) {
            chargeIds.add(r.body.chargeId)
            counts.charges++
          }
        } else if (roll < 0.6) {
          const r = note(await cluster.hold(i, me, scheduleIds[i % 2]!, 1 + Math.floor(Math.random() * seats)), 'hold')
          if (r.status === 201) {
            holds.push(r.body.reservationId)
            counts.holds++
          } else if (r.status === 403) me = null
        } else if (roll < 0.85 && holds.length > 0) {
          const reservationId = holds.splice(Math.floor(Math.random() * holds.length), 1)[0]!
          const r = note(await cluster.pay(i, me, reservationId, `m5-pay-${reservationId}`), 'pay')
          if (r.status === 201) {
            paymentIds.add(r.body.paymentId)
            counts.payments++
          } else if (r.status === 403) me = null
          // A payment that ended the session: the next hold answers 403 and the worker joins again.
        } else if (roll < 0.95 && holds.length > 0) {
          const reservationId = holds.pop()!
          const r = note(await send(cluster.url(i), `/v1/reservations/${reservationId}`, { method: 'DELETE', token }), 'cancel')
          if (r.status === 200) counts.cancels++
        } else {
          await Bun.sleep(300) // let holds lapse now and then
        }
      }
    }

    const checker = (async () => {
      while (Date.now() < deadline) {
        await Bun.sleep(5000)
        if (Date.now() >= deadline) break
        counts.midRunChecks++
        counts.midRunViolations += violations(await checkInvariants(cluster.db.sql))
      }
    })()
    await Promise.all([...Array.from({ length: WORKERS }, (_, w) => worker(w)), checker])
    await Bun.sleep(HOLD_TTL * 1000 + 200) // every hold has lapsed now, whether or not the job ran

    const [rows] = await cluster.db.sql`
      select (select count(*)::int from ledger where kind = 'CHARGE' and user_id like 'm5-%') as charges,
             (select count(*)::int from payments where user_id like 'm5-%') as payments,
             (select count(*)::int from reservations r where user_id like 'm5-%' and status = 'EXPIRED') as lapsed_by_job,
             (select count(*)::int from reservations r where user_id like 'm5-%' and status = 'HELD') as lapsed_not_yet_swept`
    const { total } = await reportInvariants(cluster.db.sql, 'check 5')
    if (failures.length) console.log('check 5 failures:', failures)
    const figures = {
      seconds: SOAK_SECONDS,
      requests: counts.requests,
      'charges / holds / payments / cancels': `${counts.charges} / ${counts.holds} / ${counts.payments} / ${counts.cancels}`,
      'lapsed holds': rows!.lapsed_by_job + rows!.lapsed_not_yet_swept,
      'charge ids = ledger charges': `${chargeIds.size} = ${rows!.charges}`,
      'payment ids = payment rows': `${paymentIds.size} = ${rows!.payments}`,
      '5xx or no answer': counts.failures,
      'mid-run checks (violations)': `${counts.midRunChecks} (${counts.midRunViolations})`,
      'invariant violations': total,
    }
    const pass = counts.failures === 0 && chargeIds.size === rows!.charges && paymentIds.size === rows!.payments &&
      counts.midRunViolations === 0 && total === 0 && counts.payments > 0
    record(5, 'conservation soak over 3 instances', figures, pass)
    expect(counts.failures).toBe(0)
    expect(chargeIds.size).toBe(rows!.charges)
    expect(paymentIds.size).toBe(rows!.payments)
    expect(counts.payments).toBeGreaterThan(0)
    expect(counts.midRunViolations).toBe(0)
    expect(total).toBe(0)
  }, (SOAK_SECONDS + 90) * 1000)

  test('20. money edges: negative, 0, fractional, > 2^53, NaN, strings, MAX_CHARGE+1: all rejected, nothing stored', async () => {
    const token = await issuer.issue('m20-edges')
    // Raw JSON text of the amount, so values JSON cannot carry (NaN, huge integers) are sent as clients would.
    const badAmount = fc.oneof(
      fc.integer({ min: -2_000_000_000, max: 0 }).map(String),
      fc.constantFrom('0', '-0', '0.0', '-1', 'NaN', 'Infinity', '-Infinity', '1e999', 'null', 'true', 'false', '[]', '{}', '[1000]', '{"value":1000}', '0x10', '1_000', '.5', '5.', '+5'),
      fc.double({ min: -1e12, max: 1e12, noNaN: true }).filter((x) => !Number.isInteger(x)).map((x) => JSON.stringify(x)),
      fc.bigInt({ min: 2n ** 53n, max: 2n ** 80n }).map(String),
      fc.integer({ min: MAX_CHARGE + 1, max: 2 ** 31 }).map(String),
      fc.double({ min: MAX_CHARGE + 1, max: 1e300, noNaN: true }).map((x) => JSON.stringify(x)),
      fc.string({ maxLength: 12 }).map((s) => JSON.stringify(s)),
      fc.integer({ min: 1, max: MAX_CHARGE }).map((n) => JSON.stringify(String(n))), // "5000": a string, not a number
    )
    const tried: string[] = []
    const accepted: string[] = []
    const notProblem: string[] = []
    let serverErrors = 0
    let run = 0
    let failure: unknown = null
    try {
      await fc.assert(
        fc.asyncProperty(badAmount, async (raw) => {
          const r = await send(cluster.url(run++), '/v1/balance/charges', { token, rawBody: `{"amount":${raw}}` })
          tried.push(raw)
          if (r.status < 300) accepted.push(raw)
          if (failed(r)) serverErrors++
          if (r.status >= 400 && (r.headers.get('content-type') !== 'application/problem+json' || r.body?.code !== 'VALIDATION_FAILED')) notProblem.push(`${raw} -> ${r.status} ${r.text.slice(0, 120)}`)
          return r.status === 400 && r.body?.code === 'VALIDATION_FAILED'
        }),
        { numRuns: 2000 },
      )
    } catch (error) {
      failure = error
    }
    // The balance limit: up to MAX_BALANCE is fine, one won more is 422 and stores nothing.
    const rich = await issuer.issue('m20-rich')
    for (let i = 0; i < MAX_BALANCE / MAX_CHARGE; i++) expect((await cluster.charge(i, rich, MAX_CHARGE)).status).toBe(201)
    const overLimit = await cluster.charge(0, rich, 1)
    // Prices of a new concert obey the same rules.
    const badPrices = ['0', '-1', '1.5', '1e999', '"1000"', 'null', String(MAX_BALANCE + 1), String(2n ** 64n)]
    const priceReplies = await Promise.all(
      badPrices.map((p) =>
        send(cluster.url(0), '/v1/admin/concerts', {
          headers: { 'x-admin-key': ADMIN_KEY },
          rawBody: `{"title":"edge","schedules":[{"startsAt":"2027-01-01T19:00:00Z","seatCount":1,"price":${p}}]}`,
        }),
      ),
    )
    const pricesAccepted = priceReplies.filter((r) => r.status < 300).length
    const [stored] = await cluster.db.sql`
      select (select count(*)::int from ledger where user_id = 'm20-edges') as edge_entries,
             (select count(*)::int from balances where user_id = 'm20-edges') as edge_balances,
             (select count(*)::int from ledger where user_id = 'm20-rich') as rich_entries,
             (select balance::int from balances where user_id = 'm20-rich') as rich_balance,
             (select count(*)::int from concerts where title = 'edge') as edge_concerts`
    const { total } = await reportInvariants(cluster.db.sql, 'check 20')
    const figures = {
      'bad amounts sent': tried.length,
      accepted: accepted.length,
      'not a 400 problem': notProblem.length,
      '5xx': serverErrors,
      'over MAX_BALANCE': `${overLimit.status} ${overLimit.body.code}`,
      'bad prices accepted': `${pricesAccepted} of ${badPrices.length}`,
      'rows stored': stored!.edge_entries + stored!.edge_balances + stored!.edge_concerts + (stored!.rich_entries - MAX_BALANCE / MAX_CHARGE),
      'invariant violations': total,
    }
    if (notProblem.length) console.log('check 20 answers that were not 400 problems:', notProblem.slice(0, 5))
    const pass = failure === null && accepted.length === 0 && notProblem.length === 0 && serverErrors === 0 && overLimit.status === 422 &&
      pricesAccepted === 0 && figures['rows stored'] === 0 && stored!.rich_balance === MAX_BALANCE && total === 0
    record(20, 'money edges', figures, pass)
    if (failure) throw failure
    expect(accepted).toEqual([])
    expect(notProblem).toEqual([])
    expect(overLimit.body.code).toBe('BALANCE_LIMIT')
    expect(pricesAccepted).toBe(0)
    expect(figures['rows stored']).toBe(0)
    expect(total).toBe(0)
  }, 120_000)
})
