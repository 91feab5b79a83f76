import { afterAll, beforeAll, expect, test } from 'bun:test'
import { createTestDatabase, type TestDatabase } from '../support/database'
import { startInstance, type Instance } from '../support/instances'
import { describeWith, serviceUrl } from '../support/services'

// WORKERS=2: one instance, two processes on one port. The kernel spreads new connections over both, and
// SIGTERM drains both before the instance exits 0. (Jobs are elected in SQL exactly as between separate
// instances; test/jobs/election.test.ts proves one runner at a time, directly and through PgBouncer.)
describeWith(['DATABASE_URL'], 'one instance with WORKERS=2', () => {
  let db: TestDatabase
  let instance: Instance
  const workerIds = () => new Set(instance.logs.filter((l) => l.msg === 'listening').map((l) => l.instanceId))

  beforeAll(async () => {
    db = await createTestDatabase(serviceUrl('DATABASE_URL')!)
    instance = await startInstance({ DATABASE_URL: db.url, DATABASE_POOL_SIZE: '4', WORKERS: '2' })
    for (let i = 0; workerIds().size < 2 && i < 200; i++) await Bun.sleep(50)
  }, 60_000)
  afterAll(async () => {
    if (instance.process.exitCode === null) instance.kill()
    await db?.drop()
  })

  test('both workers listen on the one port and both answer requests', async () => {
    expect(workerIds().size).toBe(2)
    // A fresh connection per request, so the kernel picks a worker for each.
    const replies = await Promise.all(
      Array.from({ length: 200 }, () => fetch(`${instance.url}/v1/concerts`, { headers: { connection: 'close' } }).then((r) => r.status)),
    )
    await Bun.sleep(200) // request log lines are written once per event-loop turn
    const answeredBy = new Set(instance.logs.filter((l) => l.msg === 'request' && l.route === '/v1/concerts').map((l) => l.instanceId))

    expect(replies.every((s) => s === 200)).toBe(true)
    expect([...answeredBy].filter((id) => workerIds().has(id)).length).toBe(2)
  })

  test('SIGTERM drains both workers: requests sent during the drain are answered, then the instance exits 0', async () => {
    const pids = instance.logs.find((l) => l.msg === 'workers started')!.pids as number[]
    instance.process.kill('SIGTERM')
    await Bun.sleep(100)
    const during = await Promise.all(
      Array.from({ length: 50 }, () => fetch(`${instance.url}/ready`, { headers: { connection: 'close' } }).then((r) => r.status, () => 0)),
    )
    const code = await instance.process.exited

    expect(during.every((s) => s === 503)).toBe(true)
    expect(code).toBe(0)
    expect(instance.logs.filter((l) => l.msg === 'shutting down').length).toBe(2)
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow()
  })
})
