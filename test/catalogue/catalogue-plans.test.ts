import { afterAll, beforeAll, expect, test } from 'bun:test'
import { catalogue } from '../../src/catalogue/catalogue'
import { createTestDatabase, type TestDatabase } from '../support/database'
import { executedPlan, scansOf } from '../support/plans'
import { describeWith, serviceUrl } from '../support/services'

// The catalogue's reads of each admission tick (sold_out_concerts) and of each kept seat map
// (seat_changes) after seats was analyzed in the first minute (a small concert, every seat
// AVAILABLE and written by one transaction) and grew: a connection keeps the plan it made from those
// statistics. Each is planned here as such a connection plans it (generic) and must read a seat or two,
// not every seat (as a join or a plain EXISTS, both were planned as a scan of the whole table).

const SEATS = 3000

describeWith(['DATABASE_URL'], 'catalogue on Postgres: per-tick and per-request reads of seats stay small after seats was analyzed small', () => {
  let db: TestDatabase
  let big: { concertId: string; scheduleIds: string[] }
  let small: { concertId: string }

  beforeAll(async () => {
    db = await createTestDatabase(serviceUrl('DATABASE_URL')!, { max: 2 })
    await db.sql`alter table seats set (autovacuum_enabled = false)`
    const shows = catalogue(db.sql)
    small = await shows.createConcert({ title: 'Small', schedules: [{ startsAt: '2027-01-01T19:00:00Z', seatCount: 10, price: 1000 }] })
    await db.sql`analyze seats`
    const created = await shows.createConcert({
      title: 'Big',
      schedules: [
        { startsAt: '2027-01-02T19:00:00Z', seatCount: SEATS, price: 1000 },
        { startsAt: '2027-01-03T19:00:00Z', seatCount: SEATS, price: 1000 },
      ],
    })
    big = { concertId: created.concertId, scheduleIds: created.schedules.map((s) => s.scheduleId) }
    // Sold but for the last seat of each schedule.
    await db.sql`
      update seats set status = 'SOLD', reservation_id = gen_random_uuid()
      where schedule_id = any(${big.scheduleIds}::uuid[]) and seat_number < ${SEATS}`
  })
  afterAll(async () => {
    await db?.drop()
  })

  /** Rows read from seats (returned or filtered out) by the executed plan of `name`, planned generic. */
  async function seatsRead(name: string, values: unknown[]): Promise<number> {
    return scansOf(await executedPlan(db.sql, `catalogue/${name}.sql`, values), 'seats').reduce((n, s) => n + s.rows + s.removed, 0)
  }

  test('sold_out_concerts (each admission tick): the first unsold seat of each schedule, not every seat', async () => {
    const read = await seatsRead('sold_out_concerts', [`{${big.concertId},${small.concertId}}`])
    expect(read).toBeLessThanOrEqual(3) // a seat per schedule
    const [soldOut] = await db.sql`select count(*)::int as n from seats where schedule_id = any(${big.scheduleIds}::uuid[]) and status <> 'SOLD'`
    expect(soldOut!.n).toBe(2)
  })

  test('seat_changes (each kept seat map, once per cache window): the seats written since, not every seat', async () => {
    const [{ snapshot }] = (await db.sql`select pg_current_snapshot()::text as snapshot`) as unknown as [{ snapshot: string }]
    expect(await seatsRead('seat_changes', [big.scheduleIds[0], snapshot])).toBe(0)
    await db.sql`update seats set price = 1100 where schedule_id = ${big.scheduleIds[0]!} and seat_number in (7, 8)`
    expect(await seatsRead('seat_changes', [big.scheduleIds[0], snapshot])).toBe(2)
  })
})
