import { afterAll, beforeAll, expect, test } from 'bun:test'
import { loadConfig } from '../../src/config'
import { silentLog } from '../../src/log'
import { METRIC_PREFIX } from '../../src/metrics/metrics'
import { startServer, type Server } from '../../src/server'
import { ADMIN_KEY, TEST_SECRET } from '../support/app'
import { createTestDatabase, type TestDatabase } from '../support/database'
import { describeWithPrograms, serviceUrl } from '../support/services'

// promtool comes with Prometheus (Debian package `prometheus`; .ci/run installs it).
const promtool = Bun.which('promtool')!

function samples(text: string): Map<string, number> {
  const out = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue
    const [series, value] = line.split(/ (?=[^ ]+$)/)
    out.set(series!, Number(value))
  }
  return out
}

describeWithPrograms(['promtool'], ['DATABASE_URL'], '/metrics', () => {
  let db: TestDatabase
  let server: Server
  let api: string
  let scrape: () => Promise<string>
  beforeAll(async () => {
    db = await createTestDatabase(serviceUrl('DATABASE_URL')!)
    const config = loadConfig({ DATABASE_URL: db.url, AUTH_JWT_SECRET: TEST_SECRET, ADMIN_API_KEY: ADMIN_KEY, PORT: '0', METRICS_PORT: '0' })
    server = await startServer(config, { log: silentLog, runJobs: false })
    api = `http://127.0.0.1:${server.port}`
    scrape = async () => (await fetch(`http://127.0.0.1:${server.metricsPort}/metrics`)).text()
    // Some traffic, so that the labelled series exist.
    await fetch(`${api}/v1/concerts`)
    await fetch(`${api}/v1/balance`)
    await Bun.sleep(300) // a few event-loop lag samples
  }, 30_000)
  afterAll(async () => {
    await server?.stop()
    await db?.drop()
  })

  test('passes promtool check metrics with 0 findings', async () => {
    const check = Bun.spawnSync([promtool, 'check', 'metrics'], { stdin: new TextEncoder().encode(await scrape()) })
    expect(check.stdout.toString() + check.stderr.toString()).toBe('')
    expect(check.exitCode).toBe(0)
  })

  test('the scrape is compressed for a scraper that accepts it (gzip, as Prometheus asks), plain otherwise', async () => {
    const url = `http://127.0.0.1:${server.metricsPort}/metrics`
    const gzipped = await fetch(url, { headers: { 'accept-encoding': 'gzip' }, decompress: false })
    expect([gzipped.headers.get('content-encoding'), gzipped.headers.get('vary')]).toEqual(['gzip', 'Accept-Encoding'])
    const text = new TextDecoder().decode(Bun.gunzipSync(new Uint8Array(await gzipped.arrayBuffer())))
    expect(text).toContain(`# TYPE ${METRIC_PREFIX}http_request_duration_seconds histogram`)
    const plain = await fetch(url, { headers: { 'accept-encoding': 'identity' } })
    expect(plain.headers.get('content-encoding')).toBeNull()
    expect(await plain.text()).toContain(`# TYPE ${METRIC_PREFIX}http_request_duration_seconds histogram`)
  })

  test('our metric names carry the application prefix; runtime ones keep the process_ names', async () => {
    const names = [...new Set([...(await scrape()).matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]!))]
    expect(names.length).toBeGreaterThan(10)
    expect(names.filter((n) => !n.startsWith(METRIC_PREFIX) && !n.startsWith('process_'))).toEqual([])
    expect(names).toEqual(expect.arrayContaining([`${METRIC_PREFIX}http_request_duration_seconds`, `${METRIC_PREFIX}http_problems_total`]))
    // prom-client's Node collectors report V8 and libuv figures Bun does not have.
    expect(names.filter((n) => n.startsWith('nodejs_'))).toEqual([])
  })

  test('runtime metrics are measured under Bun and add up', async () => {
    const s = samples(await scrape())
    const rss = s.get('process_resident_memory_bytes')!
    const heap = s.get(`${METRIC_PREFIX}js_heap_size_bytes`)!
    const capacity = s.get(`${METRIC_PREFIX}js_heap_capacity_bytes`)!
    expect(rss).toBeGreaterThan(10 * 1024 * 1024)
    expect(rss).toBeLessThan(4 * 1024 * 1024 * 1024)
    expect(heap).toBeGreaterThan(0)
    // Live JS objects are resident: the heap in use fits in RSS (prom-client's Node collectors said 6.67 GB
    // at 333 MB RSS under Bun). The capacity is address space reserved, which may exceed RSS.
    expect(heap).toBeLessThan(rss)
    expect(heap).toBeLessThanOrEqual(capacity)
    expect(s.get(`${METRIC_PREFIX}event_loop_lag_seconds_count`)).toBeGreaterThanOrEqual(1)
    expect(s.get('process_cpu_seconds_total')).toBeGreaterThan(0)
    expect(Math.abs(s.get('process_start_time_seconds')! - (Date.now() / 1000 - process.uptime()))).toBeLessThan(5)
  })

  test('with METRICS_PORT, /metrics is served on that port only, and nothing else is', async () => {
    expect(server.metricsPort).not.toBe(server.port)
    expect((await fetch(`${api}/metrics`)).status).toBe(404)
    expect((await fetch(`http://127.0.0.1:${server.metricsPort}/v1/concerts`)).status).toBe(404)
    const posted = await fetch(`http://127.0.0.1:${server.metricsPort}/metrics`, { method: 'POST' })
    expect([posted.status, posted.headers.get('allow')]).toEqual([405, 'GET, HEAD'])
    const doc = await (await fetch(`${api}/swagger/json`)).json()
    expect(Object.keys(doc.paths)).not.toContain('/metrics')
  })
})
