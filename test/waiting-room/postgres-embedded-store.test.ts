import { describe } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { catalogue } from '../../src/catalogue/catalogue'
import { connect } from '../../src/db/client'
import { startEmbeddedDatabase } from '../../src/db/embedded'
import { migrate } from '../../src/db/migrate'
import { postgresStore } from '../../src/waiting-room/postgres-store'
import { storeContract } from './store-contract'

// The same Postgres store on embedded PGlite, as embedded mode runs it: one connection, on which the
// batched joins and polls queue behind each other (src/db/database.ts).
describe('waiting-room store contract: Postgres store on embedded PGlite (one connection)', () => {
  storeContract(async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'cwr-embedded-store-'))
    const embedded = await startEmbeddedDatabase(dataDir)
    const sql = connect(embedded.url, { max: 1 })
    await migrate(sql)
    const concerts = catalogue(sql)
    return {
      store: postgresStore(sql),
      async newConcert() {
        const { concertId } = await concerts.createConcert({
          title: 'Contract concert',
          schedules: [{ startsAt: '2027-01-01T19:00:00Z', seatCount: 1, price: 1000 }],
        })
        return concertId
      },
      async close() {
        await sql.end({ timeout: 1 })
        await embedded.close()
        rmSync(dataDir, { recursive: true, force: true })
      },
    }
  })
})
