import { afterAll, beforeAll, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Subprocess } from 'bun'
import { userTokens } from '../../src/identity/user-tokens'
import { TEST_SECRET } from '../support/app'
import { createTestDatabase, type TestDatabase } from '../support/database'
import { rawExchange, startInstance, type Instance } from '../support/instances'
import { freePort } from '../support/ports'
import { describeWith, serviceUrl } from '../support/services'
import { tcpProxy, type TcpProxy } from '../support/tcp-proxy'

// The compose stack's load balancer, for real: the Debian caddy binary runs .deploy/Caddyfile (the very
// file docker-compose.yml mounts; only its environment differs) in front of three local instances.
// Proven here: an instance whose /ready answers 503 gets no traffic, and a rolling restart of all three
// under load loses no request.
const root = join(import.meta.dir, '..', '..')
const HEALTH_INTERVAL_MS = 200

describeWith(['DATABASE_URL', 'REDIS_URL'], 'Caddy (.deploy/Caddyfile) in front of three instances', () => {
  let db: TestDatabase
  let redisProxy: TcpProxy
  let instances: Instance[] = []
  let caddy: Subprocess
  let caddyHome: string
  let lb: string
  const envOf = (k: number) => ({
    DATABASE_URL: db.url,
    DATABASE_POOL_SIZE: '4',
    // The third instance reaches Redis through a proxy the test can cut: its /ready then answers 503
    // while it keeps running and answering everything else.
    REDIS_URL: k === 2 ? redisProxy.url : serviceUrl('REDIS_URL')!,
    RATE_LIMIT_PER_SECOND: '0',
  })
  /** Which instance answered each request to `route` logged after `since` (per-instance log offsets). */
  const served = (route: string, since: number[]) =>
    instances.map((inst, k) => inst.logs.slice(since[k]).filter((l) => l.msg === 'request' && l.route === route).length)
  const marks = () => instances.map((i) => i.logs.length)
  /** served(), once the log lines of all `total` requests have arrived (instances write logs in batches). */
  const servedAll = async (route: string, since: number[], total: number) => {
    for (let i = 0; i < 60; i++) {
      const counts = served(route, since)
      if (counts.reduce((a, b) => a + b, 0) >= total) return counts
      await Bun.sleep(50)
    }
    return served(route, since)
  }

  beforeAll(async () => {
    db = await createTestDatabase(serviceUrl('DATABASE_URL')!)
    redisProxy = tcpProxy(serviceUrl('REDIS_URL')!)
    instances = await Promise.all([0, 1, 2].map((k) => startInstance(envOf(k))))
    const port = freePort()
    lb = `http://127.0.0.1:${port}`
    caddyHome = mkdtempSync(join(tmpdir(), 'cwr-caddy-'))
    caddy = Bun.spawn(['caddy', 'run', '--config', join(root, '.deploy/Caddyfile'), '--adapter', 'caddyfile'], {
      env: {
        PATH: process.env.PATH!,
        HOME: caddyHome,
        XDG_CONFIG_HOME: caddyHome,
        XDG_DATA_HOME: caddyHome,
        LISTEN: `:${port}`,
        APP_UPSTREAMS: instances.map((i) => `127.0.0.1:${i.port}`).join(' '),
        HEALTH_INTERVAL: `${HEALTH_INTERVAL_MS}ms`,
      },
      stdout: 'ignore',
      stderr: 'ignore',
    })
    process.once('exit', () => caddy.kill('SIGKILL'))
    for (let i = 0; ; i++) {
      const ok = await fetch(`${lb}/health`).then((r) => r.ok, () => false)
      if (ok) break
      if (i > 100) throw new Error('caddy did not start')
      await Bun.sleep(100)
    }
  }, 60_000)
  afterAll(async () => {
    caddy?.kill('SIGTERM')
    await caddy?.exited
    await Promise.all(instances.map((i) => i.stop()))
    redisProxy?.stop()
    await db?.drop()
    rmSync(caddyHome, { recursive: true, force: true })
  }, 30_000)

  const concerts = () => fetch(`${lb}/v1/concerts`).then((r) => r.status, () => 0)

  test('an instance whose /ready answers 503 gets no traffic until it is ready again', async () => {
    let since = marks()
    const before = await Promise.all(Array.from({ length: 90 }, concerts))
    expect(before.filter((s) => s !== 200)).toEqual([])
    expect((await servedAll('/v1/concerts', since, 90)).every((n) => n > 0)).toBe(true)

    redisProxy.down()
    const ready = await fetch(`${instances[2]!.url}/ready`)
    expect(ready.status).toBe(503)
    await Bun.sleep(HEALTH_INTERVAL_MS * 4)
    since = marks()
    const during = await Promise.all(Array.from({ length: 90 }, concerts))
    const perInstance = await servedAll('/v1/concerts', since, 90)
    console.log(`while instance 3 was not ready: ${perInstance.join(' / ')} requests per instance`)
    expect(during.filter((s) => s !== 200)).toEqual([])
    expect(perInstance[2]).toBe(0)
    expect(perInstance[0]! + perInstance[1]!).toBe(90)

    redisProxy.up()
    for (let i = 0; i < 50 && (await fetch(`${instances[2]!.url}/ready`)).status !== 200; i++) await Bun.sleep(100)
    await Bun.sleep(HEALTH_INTERVAL_MS * 4)
    since = marks()
    await Promise.all(Array.from({ length: 90 }, concerts))
    expect((await servedAll('/v1/concerts', since, 90))[2]).toBeGreaterThan(0)
  }, 60_000)

  test('a client that pipelines gets every answer through Caddy, in order (Bun closes such a connection itself)', async () => {
    // Bun 1.4.5 closes a connection on which a second request arrives in the same write as one answered
    // asynchronously, with no answer to either (README, when things fail); Caddy takes pipelined requests
    // one at a time and does not pipeline to the instances.
    const { port } = new URL(lb)
    const requests = ['/v1/concerts', '/health', '/v1/concerts?limit=1', '/health']
    const pipelined = requests.map((path, i) => `GET ${path} HTTP/1.1\r\nHost: localhost\r\n${i === requests.length - 1 ? 'Connection: close\r\n' : ''}\r\n`)
    const received = await rawExchange(Number(port), pipelined.join(''), 5000)
    expect([...received.matchAll(/HTTP\/1\.1 \d+/g)].map((m) => m[0])).toEqual(requests.map(() => 'HTTP/1.1 200'))
  })

  test('a rolling restart of all three instances under load loses no request', async () => {
    const token = await userTokens(TEST_SECRET).issue('rolling-restart-charger')
    const outcomes = new Map<string, number>()
    const count = (key: string) => outcomes.set(key, (outcomes.get(key) ?? 0) + 1)
    let charged = 0
    let sending = true
    // 16 clients, each one request after another: reads, and charges (each with its own key).
    const clients = Array.from({ length: 16 }, async (_, c) => {
      for (let n = 0; sending; n++) {
        const write = n % 4 === 0
        const reply = await fetch(
          `${lb}${write ? '/v1/balance/charges' : '/v1/concerts'}`,
          write
            ? { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': `rr-${c}-${n}` }, body: '{"amount":3}' }
            : {},
        ).then((r) => r.status, (e) => `error ${String(e).slice(0, 60)}`)
        count(String(reply))
        if (reply === 201) charged++
      }
    })

    for (let k = 0; k < instances.length; k++) {
      await Bun.sleep(500)
      const old = instances[k]!
      expect(await old.stop()).toBe(0)
      const fresh = await startInstance(envOf(k), 30_000, old.port)
      instances[k] = fresh
      for (let i = 0; i < 100 && (await fetch(`${fresh.url}/ready`).then((r) => r.status, () => 0)) !== 200; i++) await Bun.sleep(50)
      await Bun.sleep(HEALTH_INTERVAL_MS * 3)
    }
    await Bun.sleep(500)
    sending = false
    await Promise.all(clients)

    const total = [...outcomes.values()].reduce((a, b) => a + b, 0)
    console.log(`rolling restart: ${total} requests through Caddy, outcomes ${JSON.stringify(Object.fromEntries(outcomes))}`)
    const [row] = await db.sql`select coalesce(sum(amount), 0)::int as sum, count(*)::int as n from ledger where user_id = 'rolling-restart-charger'`
    expect(total).toBeGreaterThan(200)
    expect([...outcomes.keys()].sort()).toEqual(['200', '201'])
    // Every charge answered 201 happened exactly once.
    expect(row).toEqual({ sum: 3 * charged, n: charged })
  }, 120_000)
})
