import { afterAll, beforeAll, expect, test } from 'bun:test'
import { catalogue } from '../../src/catalogue/catalogue'
import { createTestDatabase, type TestDatabase } from '../support/database'
import { describeWith, serviceUrl } from '../support/services'

// Money is counted in JavaScript numbers, exact to 2^53 - 1: the database refuses any amount above it, even
// one written by hand (sql/migrations/000016). Found by a hostile probe: a seat priced 2^53 + 1 in SQL was
// held, the hold answered 500, and the holder's reservations could not be listed again.

const SAFE = 9007199254740991n

describeWith(['DATABASE_URL'], 'money within safe integers', () => {
  let db: TestDatabase
  let scheduleId: string
  beforeAll(async () => {
    db = await createTestDatabase(serviceUrl('DATABASE_URL')!, { max: 2 })
    const created = await catalogue(db.sql).createConcert({ title: 'Money', schedules: [{ startsAt: '2027-01-01T19:00:00Z', seatCount: 3, price: 1000 }] })
    scheduleId = created.schedules[0]!.scheduleId
  })
  afterAll(async () => {
    await db?.drop()
  })

  test('a seat price, a balance and a ledger amount above 2^53 - 1 are refused; 2^53 - 1 itself is taken', async () => {
    await expect(db.sql`update seats set price = ${String(SAFE + 2n)}::bigint where schedule_id = ${scheduleId} and seat_number = 1`).rejects.toThrow(
      'seats_price_safe',
    )
    await db.sql`update seats set price = ${String(SAFE)}::bigint where schedule_id = ${scheduleId} and seat_number = 2`
    const [seat] = await db.sql`select price::text from seats where schedule_id = ${scheduleId} and seat_number = 2`
    expect(seat!.price).toBe(String(SAFE))
    await expect(db.sql`insert into balances (user_id, balance) values ('rich', ${String(SAFE + 1n)}::bigint)`).rejects.toThrow('balances_balance_safe')
    await expect(
      db.sql`insert into ledger (entry_id, user_id, kind, amount, balance_after) values (gen_random_uuid(), 'rich', 'CHARGE', ${String(SAFE + 1n)}::bigint, 1)`,
    ).rejects.toThrow('ledger_amount_safe')
  })
})
