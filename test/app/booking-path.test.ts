import { afterAll, beforeAll, expect, test } from 'bun:test'
import type { Server } from '../../src/server'
import { call, testServer } from '../support/app'
import { createTestDatabase, type TestDatabase } from '../support/database'
import { createConcert, hold, pay, shopper } from '../support/scenario'
import { databaseRoutes } from '../support/pgbouncer'
import { describeWith, serviceUrl } from '../support/services'

for (const route of databaseRoutes()) describeWith(['DATABASE_URL'], `booking path on Postgres${route.title}`, () => {
  let db: TestDatabase
  let server: Server
  beforeAll(async () => {
    db = await createTestDatabase(serviceUrl('DATABASE_URL')!)
    await route.open(serviceUrl('DATABASE_URL')!)
    server = await testServer({ DATABASE_URL: route.url(db.url), ...route.env })
  })
  afterAll(async () => {
    await server?.stop()
    await route.close()
    await db?.drop()
  })

  test('join, admit, browse, hold, pay: balance drops and the seat is SOLD', async () => {
    const { concertId, scheduleIds } = await createConcert(server, { seats: 5, price: 1500 })
    const alice = await shopper(server, 'alice', concertId, 5000)

    const schedules = await call(server, `/v1/concerts/${concertId}/schedules`, alice)
    expect(schedules.status).toBe(200)
    expect(schedules.body[0].availableSeats).toBe(5)

    const held = await hold(server, alice, scheduleIds[0]!, 3)
    expect(held.status).toBe(201)
    expect(held.body.status).toBe('HELD')

    const paid = await pay(server, alice, held.body.reservationId)
    expect(paid.status).toBe(201)
    expect(paid.body).toMatchObject({ amount: 1500, balance: 3500, status: 'PAID' })

    const balance = await call(server, '/v1/balance', alice)
    expect(balance.body.balance).toBe(3500)
    const status = await call(server, '/v1/queue/status', alice)
    expect(status.body.status).toBe('DONE')
    const [row] = await db.sql`select status from seats where schedule_id = ${scheduleIds[0]!} and seat_number = 3`
    expect(row!.status).toBe('SOLD')
  })
})
