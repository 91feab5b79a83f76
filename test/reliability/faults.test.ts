import { afterAll, beforeAll, expect, test } from 'bun:test'
import postgres from 'postgres'
import { readdirSync } from 'node:fs'
import { reportInvariants } from '../support/invariants'
import { describeWith, serviceUrl } from '../support/services'
import { tcpProxy, type TcpProxy } from '../support/tcp-proxy'
import { issuer, pool, send, startCluster, type Cluster, type Reply, type Shopper } from './support/cluster'
import { admitCrowd } from './support/crowd'
import { record } from './support/results'

// Backing services taken away under load. Postgres: its connections are killed (pg_terminate_backend)
// and then it goes away for a few seconds and comes back, as in a restart (a TCP proxy in front of it
// drops every connection and refuses new ones; RELIABILITY_RESTART_POSTGRES=1 restarts the real server
// instead, which disturbs anything else using it). Redis: a proxy takes it down, then makes it hang.

const isStack = (r: Reply) => /\n\s+at |\.ts:\d+|select |insert |update /i.test(r.text)

describeWith(['DATABASE_URL', 'REDIS_URL'], 'reliability: Postgres and Redis faults', () => {
  test('10. Postgres connections killed and Postgres restarted under load: 503 + Retry-After meanwhile, no 500, recovery within seconds, invariants hold', async () => {
    const realRestart = process.env.RELIABILITY_RESTART_POSTGRES === '1'
    const proxy = tcpProxy(serviceUrl('DATABASE_URL')!)
    const cluster = await startCluster({ databaseServerUrl: realRestart ? undefined : proxy.url, env: { DATABASE_POOL_SIZE: '6' } })
    const admin = postgres(serviceUrl('DATABASE_URL')!, { max: 1, onnotice: () => {} })
    try {
      const SEATS = 3000
      const { concertId, scheduleIds } = await cluster.createConcert({ seats: SEATS, price: 100 })
      const users = await admitCrowd(cluster, concertId, Array.from({ length: 24 }, (_, i) => `f10-${i}`))
      await pool(users, 8, (u, i) => cluster.charge(i, u.token, 1_000_000))

      const counts = { requests: 0, ok: 0, unavailable: 0, withoutRetryAfter: 0, serverErrors: 0, stacks: 0, noAnswer: 0, other: 0 }
      const samples: string[] = []
      const note = (r: Reply) => {
        counts.requests++
        if (r.status === 0) counts.noAnswer++
        else if (r.status === 503) {
          counts.unavailable++
          if (!r.headers.get('retry-after')) counts.withoutRetryAfter++
        } else if (r.status >= 500) counts.serverErrors++
        else if (r.status < 300) counts.ok++
        else if (![402, 403, 409].includes(r.status)) counts.other++
        if (r.status >= 500 && isStack(r)) counts.stacks++
        if ((r.status >= 500 && r.status !== 503) || r.status === 0) if (samples.length < 5) samples.push(`${r.status} ${r.error ?? r.text.slice(0, 300)}`)
        return r
      }
      let running = true
      async function worker(u: Shopper, w: number) {
        const holds: string[] = []
        for (let i = w; running; i++) {
          const roll = Math.random()
          if (roll < 0.2) note(await cluster.charge(i, u.token, 100, `f10-${w}-${i}`))
          else if (roll < 0.45) {
            const r = note(await cluster.hold(i, u, scheduleIds[0]!, 1 + Math.floor(Math.random() * SEATS)))
            if (r.status === 201) holds.push(r.body.reservationId)
          } else if (roll < 0.65 && holds.length > 0) {
            // A client that keeps its key until it gets an answer, as the contract asks.
            const reservationId = holds[0]!
            const r = note(await cluster.pay(i, u, reservationId, `f10-pay-${reservationId}`))
            if (r.status < 500) holds.shift()
          } else if (roll < 0.8) note(await send(cluster.url(i), '/v1/balance', { token: u.token }))
          else if (roll < 0.9) note(await send(cluster.url(i), `/v1/schedules/${scheduleIds[0]}/seats?available=true`, u))
          else note(await send(cluster.url(i), '/v1/reservations?limit=5', { token: u.token }))
          await Bun.sleep(5)
        }
      }
      const load = Promise.all(users.map((u, w) => worker(u, w)))

      await Bun.sleep(2000)
      const before = { ...counts }
      // 1. Kill every connection the instances have, three times.
      let terminated = 0
      for (let k = 0; k < 3; k++) {
        const rows = await admin`
          select pg_terminate_backend(pid) as done from pg_stat_activity
          where datname = ${new URL(cluster.db.url).pathname.slice(1)} and application_name = 'concert-waiting-room'`
        terminated += rows.filter((r) => r.done).length
        await Bun.sleep(1000)
      }
      // 2. Postgres goes away for 3 s and comes back.
      const downAt = performance.now()
      if (realRestart) {
        const version = readdirSync('/etc/postgresql')[0]!
        Bun.spawnSync(['pg_ctlcluster', '--skip-systemctl-redirect', version, 'main', 'stop', '-m', 'fast'])
        await Bun.sleep(3000)
        Bun.spawnSync(['pg_ctlcluster', '--skip-systemctl-redirect', version, 'main', 'start'])
      } else {
        proxy.down()
        await Bun.sleep(3000)
        proxy.up()
      }
      const upAt = performance.now()
      const recoveries = await Promise.all(
        cluster.instances.map(async (instance) => {
          for (;;) {
            const r = await send(instance.url, '/v1/balance', { token: users[0]!.token })
            if (r.status === 200) return performance.now() - upAt
            if (performance.now() - upAt > 30_000) return Infinity
            await Bun.sleep(50)
          }
        }),
      )
      await Bun.sleep(3000)
      running = false
      await load
      await Bun.sleep(500)

      const { total } = await reportInvariants(cluster.db.sql, 'check 10')
      if (samples.length) console.log('check 10 samples:', samples)
      const slowest = Math.max(...recoveries)
      const figures = {
        requests: counts.requests,
        'connections killed': terminated,
        'outage ms': Math.round(upAt - downAt),
        '503 (all with Retry-After)': `${counts.unavailable - before.unavailable} (${counts.withoutRetryAfter === 0 ? 'yes' : `${counts.withoutRetryAfter} without`})`,
        '500s': counts.serverErrors,
        'stack or SQL in a body': counts.stacks,
        'no answer': counts.noAnswer,
        'recovery ms (slowest instance)': Math.round(slowest),
        'invariant violations': total,
      }
      const pass = counts.serverErrors === 0 && counts.stacks === 0 && counts.noAnswer === 0 && counts.withoutRetryAfter === 0 &&
        counts.unavailable > 0 && slowest <= 5000 && total === 0
      record(10, `Postgres connections killed and ${realRestart ? 'restarted' : 'down 3 s (proxy)'} under load`, figures, pass)
      expect(counts.serverErrors).toBe(0)
      expect(counts.stacks).toBe(0)
      expect(counts.noAnswer).toBe(0)
      expect(counts.withoutRetryAfter).toBe(0)
      expect(counts.unavailable).toBeGreaterThan(0)
      expect(slowest).toBeLessThanOrEqual(5000)
      expect(total).toBe(0)
    } finally {
      proxy.up()
      await admin.end()
      await cluster.stop()
      proxy.stop()
    }
  }, 120_000)

})

describeWith(['DATABASE_URL', 'REDIS_URL'], 'reliability: Redis faults', () => {
  let proxy: TcpProxy
  let cluster: Cluster
  beforeAll(async () => {
    proxy = tcpProxy(serviceUrl('REDIS_URL')!)
    cluster = await startCluster({ redisUrl: proxy.url })
  }, 60_000)
  afterAll(async () => {
    proxy?.up()
    await cluster?.stop()
    proxy?.stop()
  }, 60_000)

  test('11. Redis down or hung: queue endpoints 503 within 2 s, admitted users cannot hold or pay, the rest works, no 500; recovery after', async () => {
    const { concertId, scheduleIds } = await cluster.createConcert({ seats: 50, price: 100 })
    const users = await admitCrowd(cluster, concertId, Array.from({ length: 6 }, (_, i) => `f11-${i}`))
    await pool(users, 6, (u, i) => cluster.charge(i, u.token, 10_000))
    const held = await pool(users, 6, async (u, i) => (await cluster.hold(i, u, scheduleIds[0]!, i + 1)).body.reservationId as string)
    // Every user has read the seats on instance 0 just now; instance 0 answers their reads from memory.
    for (const u of users) expect((await send(cluster.url(0), `/v1/schedules/${scheduleIds[0]}/seats`, u)).status).toBe(200)
    const newcomer = await issuer.issue('f11-newcomer')

    type Probe = { what: string; expect: number[]; reply: Reply }
    async function probeAll(phase: string): Promise<Probe[]> {
      const probes: Probe[] = []
      const at = async (what: string, expectStatus: number[], call: () => Promise<Reply>) => probes.push({ what: `${phase}: ${what}`, expect: expectStatus, reply: await call() })
      for (let i = 0; i < cluster.instances.length; i++) {
        const u = users[i]!
        const v = users[i + 3]!
        const url = cluster.url(i)
        await at('join', [503], () => send(url, '/v1/queue/tokens', { token: newcomer, body: { concertId } }))
        await at('status', [503], () => send(url, '/v1/queue/status', u))
        await at('hold', [503], () => cluster.hold(i, u, scheduleIds[0]!, 20 + i))
        await at('pay', [503], () => cluster.pay(i, v, held[i + 3]!, `f11-${phase}-${i}`))
        // Catalogue reads: answered from memory where this instance confirmed the session in the last 30 s.
        await at('seats', i === 0 ? [200] : [200, 503], () => send(url, `/v1/schedules/${scheduleIds[0]}/seats`, u))
        await at('balance', [200], () => send(url, '/v1/balance', { token: u.token }))
        await at('charge', [201], () => cluster.charge(i, u.token, 1))
        await at('reservations', [200], () => send(url, '/v1/reservations', { token: u.token }))
        await at('ready', [503], () => send(url, '/ready'))
      }
      return probes
    }

    proxy.down()
    const down = await probeAll('down')
    proxy.freeze()
    const hung = await probeAll('hung')
    // Cancelling a hold needs no queue store either.
    const cancel = await send(cluster.url(1), `/v1/reservations/${held[0]}`, { method: 'DELETE', token: users[0]!.token })
    const upAt = performance.now()
    proxy.up()
    // Recovery: every instance answers the queue again.
    const recoveries = await Promise.all(
      cluster.instances.map(async (_, i) => {
        for (;;) {
          if ((await send(cluster.url(i), '/v1/queue/status', users[i]!)).status === 200) return performance.now() - upAt
          if (performance.now() - upAt > 10_000) return Infinity
          await Bun.sleep(50)
        }
      }),
    )
    const recovery = Math.max(...recoveries)
    const holdAfter = await cluster.hold(1, users[1]!, scheduleIds[0]!, 40)
    const payAfter = await cluster.pay(2, users[4]!, held[4]!, 'f11-after')

    const probes = [...down, ...hung]
    const slow = probes.filter((p) => p.reply.ms > 2000)
    const wrong = probes.filter((p) => !p.expect.includes(p.reply.status))
    const fiveHundreds = probes.filter((p) => p.reply.status >= 500 && p.reply.status !== 503).length
    const without = probes.filter((p) => p.reply.status === 503 && !p.reply.headers.get('retry-after')).length
    const bookedWhileDown = probes.filter((p) => /: (hold|pay)$/.test(p.what) && p.reply.status < 300).length
    const [rows] = await cluster.db.sql`select count(*)::int as n from reservations where user_id like 'f11-%'`
    const { total } = await reportInvariants(cluster.db.sql, 'check 11')
    if (wrong.length) console.log('check 11 unexpected:', wrong.map((p) => `${p.what} ${p.reply.status} ${p.reply.text.slice(0, 120)}`))
    const figures = {
      probes: probes.length,
      'slowest ms': Math.round(Math.max(...probes.map((p) => p.reply.ms))),
      'over 2 s': slow.length,
      'holds or payments accepted while down': bookedWhileDown,
      'unexpected status': wrong.length,
      '500s': fiveHundreds,
      '503 without Retry-After': without,
      'cancel while down': cancel.status,
      'recovery ms': Math.round(recovery),
      'hold, pay after recovery': `${holdAfter.status}, ${payAfter.status}`,
      'invariant violations': total,
    }
    const pass = slow.length === 0 && wrong.length === 0 && fiveHundreds === 0 && without === 0 && bookedWhileDown === 0 &&
      cancel.status === 200 && recovery <= 3000 && holdAfter.status === 201 && payAfter.status === 201 && rows!.n === 7 && total === 0
    record(11, 'Redis down, then hung', figures, pass)
    expect(slow.map((p) => p.what)).toEqual([])
    expect(wrong.map((p) => `${p.what} ${p.reply.status}`)).toEqual([])
    expect(fiveHundreds).toBe(0)
    expect(without).toBe(0)
    expect(bookedWhileDown).toBe(0)
    expect(cancel.status).toBe(200)
    expect(recovery).toBeLessThanOrEqual(3000)
    expect(holdAfter.status).toBe(201)
    expect(payAfter.status).toBe(201)
    expect(total).toBe(0)
  }, 120_000)
})
