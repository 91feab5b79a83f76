import { afterAll, beforeAll, expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { createTestDatabase, type TestDatabase } from '../support/database'
import { startInstance, type Instance } from '../support/instances'
import { freePort } from '../support/ports'
import { describeWith, serviceUrl } from '../support/services'

/** The start time of each worker's process, by worker label, as one scrape tells it. */
async function startTimes(url: string): Promise<Record<string, string>> {
  const text = await (await fetch(url, { headers: { connection: 'close' } })).text()
  return Object.fromEntries([...text.matchAll(/^process_start_time_seconds\{worker="(\d+)"\} (\S+)$/gm)].map((m) => [m[1]!, m[2]!]))
}

/** Whether a process still runs (a zombie, exited but not reaped by its new parent, does not). */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return false
  }
}

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

  test('a scrape of /metrics, whichever worker answers it, has both workers\' series, each labelled with its worker', async () => {
    // Each answered by one worker or the other (a fresh connection each): a registry per process made
    // every scrape one worker's, and Prometheus read the difference between two as a reset (helper-36).
    const scrapes = await Promise.all(Array.from({ length: 8 }, () => startTimes(`${instance.url}/metrics`)))
    for (const scrape of scrapes) expect(scrape).toEqual(scrapes[0]!)
    expect(Object.keys(scrapes[0]!).sort()).toEqual(['0', '1'])
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

describeWith(['DATABASE_URL'], 'one instance with WORKERS=2 and METRICS_PORT', () => {
  let db: TestDatabase
  let instance: Instance
  let metricsUrl: string

  beforeAll(async () => {
    db = await createTestDatabase(serviceUrl('DATABASE_URL')!)
    const metricsPort = freePort()
    metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`
    instance = await startInstance({ DATABASE_URL: db.url, DATABASE_POOL_SIZE: '3', WORKERS: '2', METRICS_PORT: String(metricsPort) })
    for (let i = 0; instance.logs.filter((l) => l.msg === 'listening').length < 2 && i < 200; i++) await Bun.sleep(50)
  }, 60_000)
  afterAll(async () => {
    if (instance.process.exitCode === null) instance.kill()
    await db?.drop()
  })

  test('the supervisor serves METRICS_PORT with both workers\' series, and no worker crashes for want of the port', async () => {
    // Each worker bound METRICS_PORT itself: the second failed (EADDRINUSE) and was started again, in a
    // loop, 20 times in 29 s (helper-36; the compose file's own settings).
    await Bun.sleep(1500)
    expect(instance.logs.filter((l) => l.msg === 'worker exited; starting it again')).toEqual([])
    expect(Object.keys(await startTimes(metricsUrl)).sort()).toEqual(['0', '1'])
    expect((await fetch(`${instance.url}/metrics`)).status).toBe(404) // off the public port
  })

  test('a supervisor killed with SIGKILL takes its workers with it: none goes on serving the port', async () => {
    const pids = instance.logs.find((l) => l.msg === 'workers started')!.pids as number[]
    instance.kill()
    await instance.process.exited
    for (let i = 0; pids.some(running) && i < 100; i++) await Bun.sleep(50)

    expect(pids.filter(running)).toEqual([])
    expect(await fetch(`${instance.url}/health`).then((r) => r.status, () => 0)).toBe(0)
  })
})
