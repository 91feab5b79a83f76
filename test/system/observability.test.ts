import { afterAll, beforeAll, expect, test } from 'bun:test'
import { userTokens } from '../../src/identity/user-tokens'
import { ADMIN_KEY, TEST_SECRET } from '../support/app'
import { createTestDatabase, type TestDatabase } from '../support/database'
import { http, startInstances, stopInstances, type Instance } from '../support/instances'
import { describeWith, serviceUrl } from '../support/services'

// What an operator sees of two running instances: /metrics, request logs, job logs.
describeWith(['DATABASE_URL', 'REDIS_URL'], 'metrics and logs of running instances', () => {
  let db: TestDatabase
  let instances: Instance[] = []
  beforeAll(async () => {
    db = await createTestDatabase(serviceUrl('DATABASE_URL')!)
    instances = await startInstances(2, { DATABASE_URL: db.url, REDIS_URL: serviceUrl('REDIS_URL')! })
  }, 60_000)
  afterAll(async () => {
    await stopInstances(instances)
    await db?.drop()
  }, 30_000)

  test('a booking run shows up in /metrics and in one log line per request and per job run', async () => {
    const [a, b] = instances as [Instance, Instance]
    const created = await http(a.url, '/v1/admin/concerts', {
      headers: { 'x-admin-key': ADMIN_KEY },
      body: { title: 'Observed', schedules: [{ startsAt: '2027-01-01T19:00:00Z', seatCount: 5, price: 100 }] },
    })
    const concertId = created.body.concertId
    const scheduleId = created.body.schedules[0].scheduleId
    const token = await userTokens(TEST_SECRET).issue('observer')
    await http(a.url, '/v1/balance/charges', { token, body: { amount: 1000 } })
    const joined = await http(a.url, '/v1/queue/tokens', { token, body: { concertId } })
    const waiterToken = await userTokens(TEST_SECRET).issue('observer-2')
    const waiter = { token: waiterToken, queueToken: (await http(b.url, '/v1/queue/tokens', { token: waiterToken, body: { concertId } })).body.token }
    const me = { token, queueToken: joined.body.token }
    const admitted = async (who: { token: string; queueToken: string }) => {
      for (let i = 0; i < 30; i++) {
        if ((await http(b.url, '/v1/queue/status', who)).body.status === 'ACTIVE') return true
        await Bun.sleep(200)
      }
      return false
    }
    expect(await admitted(me)).toBe(true)
    expect(await admitted(waiter)).toBe(true)
    const held = await http(a.url, '/v1/reservations', { ...me, body: { scheduleId, seatNumber: 1 } })
    const lost = await http(b.url, '/v1/reservations', { ...me, body: { scheduleId, seatNumber: 1 } })
    expect(lost.body.code).toBe('SEAT_UNAVAILABLE')
    await http(a.url, '/v1/payments', { ...me, body: { reservationId: held.body.reservationId } })

    const scraped = await (await fetch(`${a.url}/metrics`)).text()
    // Only the samples, so that a failure shows what matters.
    const metrics = scraped.split('\n').filter((l) => l && !l.startsWith('#') && !/^(process|nodejs)_|_bucket\{/.test(l)).join('\n')
    expect(metrics).toMatch(/concert_http_request_duration_seconds_count\{method="POST",route="\/v1\/reservations",status="201"\} 1/)
    expect(metrics).toMatch(/concert_holds_made_total 1/)
    expect(metrics).toMatch(/concert_payments_total 1/)
    expect(metrics).toMatch(/concert_payments_won_total 100/)
    expect(metrics).toMatch(/concert_queue_store_seconds_count\{store="redis-tcp",op="join",outcome="ok"\} 1/)
    // Both users were admitted; the buyer's session is DONE, the other one still active.
    expect(metrics).toMatch(new RegExp(`concert_queue_active\\{concert="${concertId}"\\} 1`))
    expect(metrics).toMatch(new RegExp(`concert_queue_admitted_last_minute\\{concert="${concertId}"\\} 2`))
    expect(metrics).toMatch(/concert_job_runs_total\{job="admission",outcome="(ran|skipped)"\} \d+/)
    expect(scraped).toMatch(/process_resident_memory_bytes \d+/)
    const metricsB = await (await fetch(`${b.url}/metrics`)).text()
    expect(metricsB).toMatch(/concert_http_problems_total\{code="SEAT_UNAVAILABLE"\} 1/)

    // Admission ran on one of the two each second: both count their runs, together they cover the ticks.
    const ran = [metrics, metricsB].map((m) => Number(/concert_job_runs_total\{job="admission",outcome="ran"\} (\d+)/.exec(m)?.[1] ?? 0))
    expect(ran[0]! + ran[1]!).toBeGreaterThan(0)

    const request = b.logs.find((l) => l.msg === 'request' && l.route === '/v1/reservations' && l.status === 409)
    expect(request).toMatchObject({ level: 'info', method: 'POST', code: 'SEAT_UNAVAILABLE', ms: expect.any(Number), instanceId: expect.any(String) })
    expect(lost.body.instance).toBe(`urn:request:${request!.requestId}`)
    expect(lost.headers.get('x-request-id')).toBe(request!.requestId)
    const job = [...a.logs, ...b.logs].find((l) => l.msg === 'job ran' && l.job === 'admission' && l.admitted > 0)
    expect(job).toMatchObject({ instanceId: expect.any(String), ms: expect.any(Number) })
  }, 30_000)
})
