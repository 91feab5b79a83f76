import { expect, test } from 'bun:test'
import { catalogue } from '../../src/catalogue/catalogue'
import { connect } from '../../src/db/client'
import { ServiceError } from '../../src/errors'
import { postgresStore } from '../../src/waiting-room/postgres-store'
import { createTestDatabase } from '../support/database'
import { describeWith, serviceUrl } from '../support/services'
import { storeContract } from './store-contract'

describeWith(['DATABASE_URL'], 'waiting-room store contract: Postgres', () => {
  storeContract(async () => {
    const db = await createTestDatabase(serviceUrl('DATABASE_URL')!, { max: 20 })
    const concerts = catalogue(db.sql)
    return {
      store: postgresStore(db.sql),
      async newConcert() {
        const { concertId } = await concerts.createConcert({
          title: 'Contract concert',
          schedules: [{ startsAt: '2027-01-01T19:00:00Z', seatCount: 1, price: 1000 }],
        })
        return concertId
      },
      close: () => db.drop(),
    }
  })
})

test('a Postgres that cannot be reached fails the waiting room as Redis does: SERVICE_UNAVAILABLE with Retry-After', async () => {
  const sql = connect('postgres://postgres@127.0.0.1:1/nowhere', { max: 1 })
  const store = postgresStore(sql)
  const ticket = { concertId: '00000000-0000-4000-8000-000000000000', userId: 'nobody', seq: 1 }
  const limits = { maxActive: 1, admitPerSecond: 1, activeTtlSeconds: 60, waitingIdleSeconds: 60 }
  for (const call of [() => store.ping(), () => store.poll(ticket, limits), () => store.join(ticket.concertId, 'nobody', limits)]) {
    const error = await call().then(() => null, (e: unknown) => e)
    expect(error).toBeInstanceOf(ServiceError)
    expect(error).toMatchObject({ code: 'SERVICE_UNAVAILABLE', retryAfterSeconds: 2 })
  }
  await sql.end({ timeout: 0 })
})
