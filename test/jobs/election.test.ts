import { afterAll, beforeAll, expect, test } from 'bun:test'
import { runElected } from '../../src/jobs/jobs'
import { connect, type Sql } from '../../src/db/client'
import { createTestDatabase, type TestDatabase } from '../support/database'
import { databaseRoutes } from '../support/pgbouncer'
import { describeWith, serviceUrl } from '../support/services'

for (const route of databaseRoutes()) describeWith(['DATABASE_URL'], `job election${route.title}`, () => {
  let db: TestDatabase
  let pools: Sql[] = []
  beforeAll(async () => {
    db = await createTestDatabase(serviceUrl('DATABASE_URL')!)
    await route.open(serviceUrl('DATABASE_URL')!)
    // One pool per "instance", as separate processes would have.
    pools = [1, 2, 3, 4, 5].map(() => connect(route.url(db.url), { max: 3, prepare: route.env.DATABASE_PREPARE !== 'false' }))
  })
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.end()))
    await route.close()
    await db?.drop()
  })

  test('of five instances ticking at once, exactly one runs the job; the others skip', async () => {
    let running = 0
    let overlapped = false
    const results = await Promise.all(
      pools.map((sql) =>
        runElected(sql, 'admission', async () => {
          running++
          if (running > 1) overlapped = true
          await Bun.sleep(200)
          running--
          return 'ran'
        }),
      ),
    )
    expect(results.filter((r) => r === 'ran')).toHaveLength(1)
    expect(results.filter((r) => r === null)).toHaveLength(4)
    expect(overlapped).toBe(false)
  })

  test('different jobs do not block each other, and the lock is free again after the run', async () => {
    const [a, b] = await Promise.all([
      runElected(pools[0]!, 'admission', async () => 'admission'),
      runElected(pools[1]!, 'lapseHolds', async () => 'lapse'),
    ])
    expect([a, b]).toEqual(['admission', 'lapse'])
    expect(await runElected(pools[2]!, 'admission', async () => 'again')).toBe('again')
  })

  test('a run that throws releases the lock', async () => {
    await expect(runElected(pools[0]!, 'expireIdempotencyKeys', async () => {
      throw new Error('boom')
    })).rejects.toThrow('boom')
    expect(await runElected(pools[1]!, 'expireIdempotencyKeys', async () => 'next')).toBe('next')
  })
})
