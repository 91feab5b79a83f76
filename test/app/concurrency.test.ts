import { afterAll, beforeAll, expect, test } from 'bun:test'
import type { Server } from '../../src/server'
import { call, testServer } from '../support/app'
import { createTestDatabase, type TestDatabase } from '../support/database'
import { charge, createConcert, hold, join, shopper, userToken } from '../support/scenario'
import { databaseRoutes } from '../support/pgbouncer'
import { describeWith, serviceUrl } from '../support/services'

// Three app instances (separate connection pools and caches) on one database, driven all at once;
// once directly and once through PgBouncer in transaction mode.
for (const route of databaseRoutes()) describeWith(['DATABASE_URL'], `concurrency on one Postgres, three instances${route.title}`, () => {
  let db: TestDatabase
  let instances: Server[] = []
  const env = { QUEUE_MAX_ACTIVE: '10000', QUEUE_ADMIT_PER_SECOND: '10000', MAX_HOLDS_PER_USER: '100', ...route.env }
  beforeAll(async () => {
    db = await createTestDatabase(serviceUrl('DATABASE_URL')!)
    await route.open(serviceUrl('DATABASE_URL')!)
    instances = await Promise.all([1, 2, 3].map(() => testServer({ DATABASE_URL: route.url(db.url), DATABASE_POOL_SIZE: '10', ...env })))
  })
  afterAll(async () => {
    await Promise.all(instances.map((s) => s.stop()))
    await route.close()
    await db?.drop()
  })
  const instance = (i: number) => instances[i % instances.length]!

  test('200 simultaneous holds on one seat: exactly one winner, 199 SEAT_UNAVAILABLE, no 5xx', async () => {
    const { concertId, scheduleIds } = await createConcert(instance(0), { seats: 1 })
    // All 200 join, then one admission step admits them all (the limits here allow it): 200 shoppers each
    // ticking at once queued for connections past the pool's timeout on a loaded machine (through PgBouncer).
    const users = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const token = await userToken(instance(i), `race-${i}`)
        return { token, queueToken: (await join(instance(i), token, concertId)).token }
      }),
    )
    await instance(0).admission.tick()
    const replies = await Promise.all(users.map((u, i) => hold(instance(i), u, scheduleIds[0]!, 1)))
    const statuses = replies.map((r) => r.status)
    console.log(`holds on one seat: successes ${statuses.filter((s) => s === 201).length} of 200`)
    expect(statuses.filter((s) => s === 201)).toHaveLength(1)
    expect(replies.filter((r) => r.body.code === 'SEAT_UNAVAILABLE')).toHaveLength(199)
    const [row] = await db.sql`select count(*)::int as n from reservations where schedule_id = ${scheduleIds[0]!}`
    expect(row!.n).toBe(1)
  }, 60_000)

  test('100 simultaneous payments on one balance never drive it below zero', async () => {
    const price = 1000
    const { concertId, scheduleIds } = await createConcert(instance(0), { seats: 100, price })
    const buyer = await shopper(instance(0), 'spender', concertId, 10 * price)
    const holds = []
    for (let seat = 1; seat <= 100; seat++) holds.push(await hold(instance(seat), buyer, scheduleIds[0]!, seat))
    expect(holds.every((h) => h.status === 201)).toBe(true)
    const replies = await Promise.all(
      holds.map((h, i) =>
        call(instance(i), '/v1/payments', { ...buyer, body: { reservationId: h.body.reservationId } }),
      ),
    )
    const paid = replies.filter((r) => r.status === 201).length
    console.log(`payments on a balance of 10 prices: successes ${paid} of 100`)
    expect(paid).toBe(10)
    expect(replies.filter((r) => r.status === 402)).toHaveLength(90)
    const [row] = await db.sql`
      select b.balance, (select sum(amount)::int from ledger where user_id = 'spender') as ledger,
        (select count(*)::int from seats where schedule_id = ${scheduleIds[0]!} and status = 'SOLD') as sold
      from balances b where user_id = 'spender'`
    expect(row).toEqual({ balance: 0, ledger: 0, sold: 10 })
  }, 60_000)

  test('one user racing 50 holds gets exactly MAX_HOLDS_PER_USER of them', async () => {
    const limited = await testServer({ DATABASE_URL: route.url(db.url), ...env, MAX_HOLDS_PER_USER: '4', DATABASE_POOL_SIZE: '5' })
    const other = await testServer({ DATABASE_URL: route.url(db.url), ...env, MAX_HOLDS_PER_USER: '4', DATABASE_POOL_SIZE: '5' })
    try {
      const { concertId, scheduleIds } = await createConcert(limited, { seats: 50 })
      const greedy = await shopper(limited, 'greedy', concertId)
      const replies = await Promise.all(
        Array.from({ length: 50 }, (_, i) => hold(i % 2 ? limited : other, greedy, scheduleIds[0]!, i + 1)),
      )
      const outcomes = replies.map((r) => `${r.status} ${r.body.code ?? ''}`)
      if (replies.filter((r) => r.status === 201).length !== 4) console.log(outcomes.join(', '))
      expect(replies.filter((r) => r.status === 201)).toHaveLength(4)
      expect(replies.filter((r) => r.body.code === 'HOLD_LIMIT_REACHED')).toHaveLength(46)
    } finally {
      await limited.stop()
      await other.stop()
    }
  })

  test('100 concurrent charges on one user: every one counted, balance = sum of ledger', async () => {
    const token = await instance(0).tokens.issue('charger')
    await Promise.all(Array.from({ length: 100 }, (_, i) => charge(instance(i), token, 7)))
    const [row] = await db.sql`
      select b.balance, (select sum(amount)::int from ledger where user_id = 'charger') as ledger
      from balances b where user_id = 'charger'`
    expect(row).toEqual({ balance: 700, ledger: 700 })
  })
})
