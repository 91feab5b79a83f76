import { afterAll, beforeAll, expect, test } from 'bun:test'
import { loadConfig } from '../../src/config'
import { startServer, type Server } from '../../src/server'
import { ADMIN_KEY, call, TEST_SECRET } from '../support/app'
import { createTestDatabase, type TestDatabase } from '../support/database'
import { createConcert, join, userToken } from '../support/scenario'
import { describeWith, serviceUrl } from '../support/services'

// A job's election is a transaction kept open while the job runs, its work done on the requests' pool.
// Kept on that pool it held one of its connections per job running: with DATABASE_POOL_SIZE=1 no job
// ever ran (its work waited for the connection its own election held) and /ready answered 503 for good
// (helper-55). The elections have connections of their own (src/db/database.ts).
describeWith(['DATABASE_URL'], 'the jobs keep connections of their own', () => {
  let db: TestDatabase
  let server: Server
  const logged: Record<string, unknown>[] = []
  beforeAll(async () => {
    db = await createTestDatabase(serviceUrl('DATABASE_URL')!)
    const config = loadConfig({
      DATABASE_URL: db.url,
      DATABASE_POOL_SIZE: '1',
      AUTH_JWT_SECRET: TEST_SECRET,
      ADMIN_API_KEY: ADMIN_KEY,
      AUTH_DEV_TOKENS: 'true',
      SEED_DEMO: 'false',
      RATE_LIMIT_PER_SECOND: '0',
    })
    server = await startServer(config, { log: (entry) => void logged.push(entry), runJobs: true, listen: false })
  })
  afterAll(async () => {
    await server?.stop()
    await db?.drop()
  })

  test('with a pool of one connection, the admission and lapse jobs run and /ready answers 200', async () => {
    const { concertId } = await createConcert(server, { seats: 2 })
    const token = await userToken(server, 'pool-of-one')
    const { token: queueToken } = await join(server, token, concertId)
    let status = ''
    const deadline = Date.now() + 5000
    while (status !== 'ACTIVE' && Date.now() < deadline) {
      await Bun.sleep(200)
      status = (await call(server, '/v1/queue/status', { token, queueToken })).body.status
    }
    expect(status).toBe('ACTIVE')
    expect((await call(server, '/ready')).status).toBe(200)
    // Two seconds of jobs, every one of them elected and run without a failure.
    await Bun.sleep(2000)
    expect(logged.filter((e) => e.msg === 'job failed')).toEqual([])
    const ran = new Set(logged.filter((e) => e.msg === 'job ran').map((e) => e.job))
    expect([...ran].sort()).toEqual(['admission', 'lapseHolds'])
    const [row] = await db.sql`select count(*)::int as n from pg_stat_activity where application_name = 'concert-waiting-room jobs' and datname = current_database()`
    expect(row!.n).toBeGreaterThanOrEqual(1)
    expect(row!.n).toBeLessThanOrEqual(3)
  })
})
