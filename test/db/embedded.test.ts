import { afterAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../../src/config'
import { silentLog } from '../../src/log'
import { startServer } from '../../src/server'
import { call } from '../support/app'
import { hold, pay, shopper } from '../support/scenario'

// Embedded mode as a newcomer gets it: no DATABASE_URL, no Redis, demo concerts, data kept in DATA_DIR.
describe('embedded mode (PGlite)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'cwr-embedded-'))
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }))
  const start = () =>
    startServer(loadConfig({ DATA_DIR: dataDir, ADMIN_API_KEY: 'k' }), { log: silentLog, runJobs: false, listen: false })

  test('serves the booking path over the embedded database and keeps it across a restart', async () => {
    let server = await start()
    let concertIds: string[]
    try {
      const concerts = await call(server, '/v1/concerts')
      expect(concerts.status).toBe(200)
      expect(concerts.body.length).toBeGreaterThanOrEqual(2)
      concertIds = concerts.body.map((c: { concertId: string }) => c.concertId)
      const devToken = await call(server, '/v1/dev/user-tokens', { body: { userId: 'embedded-alice' } })
      expect(devToken.status).toBe(201)
      const alice = await shopper(server, 'embedded-alice', concertIds[0]!, 200_000)
      const schedules = await call(server, `/v1/concerts/${concertIds[0]}/schedules`, alice)
      const held = await hold(server, alice, schedules.body[0].scheduleId, 1)
      expect(held.status).toBe(201)
      const paid = await pay(server, alice, held.body.reservationId, 'embedded-key')
      expect(paid.status).toBe(201)
      expect(paid.body.balance).toBe(200_000 - held.body.price)
    } finally {
      await server.stop()
    }

    server = await start()
    try {
      // Same demo concerts (not seeded twice), same balance, and the same secret: old tokens still work.
      const concerts = await call(server, '/v1/concerts')
      expect(concerts.body.map((c: { concertId: string }) => c.concertId)).toEqual(concertIds!)
      const token = await server.tokens.issue('embedded-alice')
      const balance = await call(server, '/v1/balance', { token })
      expect(balance.body.balance).toBeLessThan(200_000)
      const history = await call(server, '/v1/balance/history', { token })
      expect(history.body.entries.map((e: { type: string }) => e.type)).toEqual(['PAYMENT', 'CHARGE'])
    } finally {
      await server.stop()
    }
  }, 120_000)

  test('a second instance on the same data directory refuses to start', async () => {
    const server = await start()
    try {
      const { startEmbeddedDatabase } = await import('../../src/db/embedded')
      // Pretend to be another live process holding the directory.
      const { writeFileSync } = await import('node:fs')
      writeFileSync(join(dataDir, 'instance.pid'), String(process.ppid))
      await expect(startEmbeddedDatabase(dataDir)).rejects.toThrow(/in use by process/)
      writeFileSync(join(dataDir, 'instance.pid'), String(process.pid))
    } finally {
      await server.stop()
    }
  }, 120_000)
})
