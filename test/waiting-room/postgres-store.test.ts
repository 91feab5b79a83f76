import { catalogue } from '../../src/catalogue/catalogue'
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
