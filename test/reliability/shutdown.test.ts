import { expect, test } from 'bun:test'
import { reportInvariants } from '../support/invariants'
import type { Instance } from '../support/instances'
import { describeWith } from '../support/services'
import { issuer, send, startCluster, type Reply } from './support/cluster'
import { record } from './support/results'

// Graceful shutdown: SIGTERM makes /ready answer 503 and every answer carry Connection: close for a
// one-second drain, then the instance stops taking connections, lets the requests in flight finish, and
// the process exits 0. A rolling restart of three instances under load therefore drops no request for a
// client that, like a load balancer, follows /ready and retries a refused connection on another instance.

const refused = (r: Reply) => r.status === 0 && /ECONNREFUSED|Unable to connect/i.test(r.error ?? '')
const alive = (i: Instance) => i.process.exitCode === null && i.process.signalCode === null

/** A body that arrives slowly: the request is in flight for `ms`. */
function slowBody(text: string, ms: number): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text)
  return new ReadableStream({
    async start(controller) {
      controller.enqueue(bytes.slice(0, 5))
      await Bun.sleep(ms)
      controller.enqueue(bytes.slice(5))
      controller.close()
    },
  })
}

describeWith(['DATABASE_URL', 'REDIS_URL'], 'reliability: graceful shutdown', () => {
  test('S1. SIGTERM with requests in flight: /ready 503 while draining, each request finishes, then connections are refused and the process exits 0', async () => {
    const cluster = await startCluster({ instances: 1 })
    try {
      const [instance] = cluster.instances
      const token = await issuer.issue('g1-user')
      // Slow requests: their bodies are still arriving when SIGTERM comes.
      const slow = Array.from({ length: 5 }, (_, i) =>
        send(instance!.url, '/v1/balance/charges', { token, rawBody: slowBody('{"amount":7}', 800), headers: { 'idempotency-key': `g1-slow-${i}` } }),
      )
      // And a crowd of quick ones, going out until after the signal.
      let sending = true
      const quick: Promise<Reply>[] = []
      const crowd = (async () => {
        for (let i = 0; sending; i++) {
          quick.push(send(instance!.url, '/v1/balance/charges', { token, body: { amount: 1 }, headers: { 'idempotency-key': `g1-quick-${i}` } }))
          await Bun.sleep(2)
        }
      })()
      await Bun.sleep(300)
      const signalledAt = performance.now()
      instance!.process.kill('SIGTERM')
      // While draining, the instance still answers, says it is not ready, and closes each connection.
      await Bun.sleep(100)
      const readyWhileDraining = await send(instance!.url, '/ready')
      await Bun.sleep(400)
      sending = false
      await crowd
      await Bun.sleep(1000)
      const refusedAfter = await send(instance!.url, '/health')
      const slowReplies = await Promise.all(slow)
      const quickReplies = await Promise.all(quick)
      const exitCode = await instance!.process.exited
      const exitMs = performance.now() - signalledAt

      const slowDone = slowReplies.filter((r) => r.status === 201).length
      const quickFailed = quickReplies.filter((r) => r.status !== 201 && !refused(r))
      const quickRefused = quickReplies.filter(refused).length
      const [ledger] = await cluster.db.sql`select count(*)::int as n, coalesce(sum(amount), 0)::int as total from ledger where user_id = 'g1-user'`
      const answered = quickReplies.filter((r) => r.status === 201).length
      const { total } = await reportInvariants(cluster.db.sql, 'check S1')
      const figures = {
        'slow requests in flight finished': `${slowDone} of ${slow.length}`,
        'quick requests answered / refused / failed otherwise': `${answered} / ${quickRefused} / ${quickFailed.length}`,
        '/ready while draining': `${readyWhileDraining.status}, Connection: ${readyWhileDraining.headers.get('connection')}`,
        'new connection after the drain': refused(refusedAfter) ? 'refused' : String(refusedAfter.status),
        'charges stored = answered': `${ledger!.n} = ${slowDone + answered}`,
        'exit code': exitCode,
        'exit ms after SIGTERM': Math.round(exitMs),
        'invariant violations': total,
      }
      if (quickFailed.length) console.log('S1 failed:', quickFailed.slice(0, 3).map((r) => `${r.status} ${r.error ?? r.text.slice(0, 100)}`))
      const pass = slowDone === slow.length && quickFailed.length === 0 && readyWhileDraining.status === 503 && refused(refusedAfter) && ledger!.n === slowDone + answered && exitCode === 0 && total === 0
      record('S1', 'SIGTERM with requests in flight', figures, pass)
      expect(slowDone).toBe(slow.length)
      expect(quickFailed.length).toBe(0)
      expect(readyWhileDraining.status).toBe(503)
      expect(refused(refusedAfter)).toBe(true)
      expect(ledger!.n).toBe(slowDone + answered)
      expect(exitCode).toBe(0)
      expect(total).toBe(0)
    } finally {
      await cluster.stop()
    }
  }, 60_000)

  test('S2. rolling restart of 3 instances under load: a client that follows /ready and retries refused connections elsewhere sees no failed request', async () => {
    const cluster = await startCluster()
    try {
      const WORKERS = 24
      const users = await Promise.all(Array.from({ length: WORKERS }, (_, w) => issuer.issue(`g2-${w}`)))
      const counts = { requests: 0, retriedRefusals: 0, failed: 0 }
      const failures: string[] = []
      let running = true
      // The client's view of the pool, as a load balancer keeps it: instances whose /ready answered 200 at
      // the last probe (every 150 ms). A draining instance says 503 and drops out within one probe.
      const ready = new Map<Instance, boolean>()
      const prober = (async () => {
        while (running) {
          await Promise.all(cluster.instances.filter(alive).map(async (i) => ready.set(i, (await send(i.url, '/ready', { timeoutMs: 1000 })).status === 200)))
          await Bun.sleep(150)
        }
      })()
      await Bun.sleep(300)
      const pool = () => {
        const live = cluster.instances.filter((i) => alive(i) && ready.get(i))
        return live.length > 0 ? live : cluster.instances.filter(alive)
      }
      async function call(w: number, i: number, path: string, init: Parameters<typeof send>[2]) {
        for (let attempt = 0; attempt < 6; attempt++) {
          const live = pool()
          const r = await send(live[(w + i + attempt) % live.length]!.url, path, init)
          if (!refused(r)) return r
          counts.retriedRefusals++
        }
        return { status: 0, error: 'refused six times' } as Reply
      }
      const load = Promise.all(
        users.map(async (token, w) => {
          for (let i = 0; running; i++) {
            const r = i % 3 === 0
              ? await call(w, i, '/v1/balance/charges', { token, body: { amount: 1 }, headers: { 'idempotency-key': `g2-${w}-${i}` } })
              : await call(w, i, '/v1/balance', { token })
            counts.requests++
            if (r.status >= 300 || r.status === 0) {
              counts.failed++
              if (failures.length < 5) failures.push(`${r.status} ${r.error ?? r.text.slice(0, 120)}`)
            }
          }
        }),
      )
      await Bun.sleep(1000)
      const restarts: number[] = []
      for (const old of [...cluster.instances]) {
        const started = performance.now()
        const replacement = cluster.startAnother()
        await replacement
        expect(await old.stop()).toBe(0)
        restarts.push(performance.now() - started)
        await Bun.sleep(300)
      }
      await Bun.sleep(1000)
      running = false
      await load
      await prober

      const { total } = await reportInvariants(cluster.db.sql, 'check S2')
      if (failures.length) console.log('S2 failures:', failures)
      const figures = {
        requests: counts.requests,
        'instances replaced': restarts.length,
        'refusals retried elsewhere': counts.retriedRefusals,
        'failed requests': counts.failed,
        'invariant violations': total,
      }
      const pass = counts.failed === 0 && restarts.length === 3 && total === 0
      record('S2', 'rolling restart under load', figures, pass)
      expect(counts.failed).toBe(0)
      expect(total).toBe(0)
    } finally {
      await cluster.stop()
    }
  }, 120_000)
})
