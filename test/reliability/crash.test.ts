import { expect, test } from 'bun:test'
import { RedisClient } from 'bun'
import { reportInvariants } from '../support/invariants'
import type { Instance } from '../support/instances'
import { describeWith, serviceUrl } from '../support/services'
import { issuer, pool, send, startCluster } from './support/cluster'
import { admitCrowd } from './support/crowd'
import { record } from './support/results'

// Instances die with SIGKILL: in the middle of payments, and while they run the admission job.

const alive = (i: Instance) => i.process.exitCode === null && i.process.signalCode === null

describeWith(['DATABASE_URL', 'REDIS_URL'], 'reliability: instances killed with SIGKILL', () => {
  test('9. kill -9 at random points of 200 payments, retry on another instance with the same key: no partial state, no double debit', async () => {
    const cluster = await startCluster()
    try {
      const KILLS = 20
      const PER_KILL = 10
      const ROUNDS = KILLS * PER_KILL
      const price = 1000
      const { concertId, scheduleIds } = await cluster.createConcert({ seats: ROUNDS, price })
      const buyers = await admitCrowd(cluster, concertId, Array.from({ length: ROUNDS }, (_, i) => `c9-${i}`))
      const holds = await pool(buyers, 32, async (b, i) => {
        expect((await cluster.charge(i, b.token, price)).status).toBe(201)
        const hold = await cluster.hold(i, b, scheduleIds[0]!, i + 1)
        expect(hold.status).toBe(201)
        return hold.body.reservationId as string
      })

      const counts = { cutByKill: 0, answeredBeforeKill: 0, retriedFresh: 0, retriedReplayed: 0, unresolved: 0, serverErrors: 0 }
      const replacements: Promise<Instance>[] = []
      for (let k = 0; k < KILLS; k++) {
        let live = cluster.instances.filter(alive)
        if (live.length < 2) {
          await Promise.all(replacements)
          live = cluster.instances.filter(alive)
        }
        const [victim, ...others] = live
        const batch = Array.from({ length: PER_KILL }, (_, j) => k * PER_KILL + j)
        // Warm the victim (connections to Postgres and Redis, compiled paths) so that a payment takes
        // its usual few milliseconds; then the payments go out 4 ms apart and the kill lands at a random
        // moment among them: some are answered, some are cut mid-way, some never arrive.
        await Promise.all(batch.map((n) => send(victim!.url, '/v1/queue/status', buyers[n]!)))
        const started = performance.now()
        const first = batch.map(async (n, j) => {
          await Bun.sleep(j * 4)
          return send(victim!.url, '/v1/payments', { ...buyers[n]!, body: { reservationId: holds[n] }, headers: { 'idempotency-key': `c9-${n}` } })
        })
        await Bun.sleep(Math.random() * PER_KILL * 4 + 5 - (performance.now() - started))
        victim!.kill()
        replacements.push(cluster.startAnother())
        const answers = await Promise.all(first)
        await pool(batch, PER_KILL, async (n, j) => {
          const firstAnswer = answers[j]!
          if (firstAnswer.status >= 500) counts.serverErrors++
          if (firstAnswer.status === 201) {
            counts.answeredBeforeKill++
            return
          }
          counts.cutByKill++
          // Retry on a live instance until there is an answer.
          for (let attempt = 0; attempt < 20; attempt++) {
            const target = others[(n + attempt) % others.length]!
            const retry = await send(target.url, '/v1/payments', { ...buyers[n]!, body: { reservationId: holds[n] }, headers: { 'idempotency-key': `c9-${n}` } })
            if (retry.status === 201) {
              if (retry.headers.get('idempotent-replayed') === 'true') counts.retriedReplayed++
              else counts.retriedFresh++
              return
            }
            if (retry.status >= 500 && retry.status !== 503) counts.serverErrors++
            await Bun.sleep(100)
          }
          counts.unresolved++
        })
      }
      await Promise.all(replacements)

      const [state] = await cluster.db.sql`
        select (select count(*)::int from reservations where user_id like 'c9-%' and status = 'PAID') as paid,
               (select count(*)::int from ledger where user_id like 'c9-%' and kind = 'PAYMENT') as debits,
               (select count(*)::int from balances where user_id like 'c9-%' and balance <> 0) as not_debited`
      // Each buyer paid its only hold: its queue session is over (DONE), whichever attempt did the work.
      const live = cluster.instances.filter(alive)
      const sessions = await pool(buyers, 32, (b, i) => send(live[i % live.length]!.url, '/v1/queue/status', b))
      const stillActive = sessions.filter((s) => s.body?.status === 'ACTIVE').length
      const { total } = await reportInvariants(cluster.db.sql, 'check 9')
      const figures = {
        'payments interrupted by kills': `${counts.cutByKill} of ${ROUNDS} (${KILLS} kills)`,
        'answered before the kill': counts.answeredBeforeKill,
        'retry did the work / replayed the first': `${counts.retriedFresh} / ${counts.retriedReplayed}`,
        unresolved: counts.unresolved,
        'PAID / debits': `${state!.paid} / ${state!.debits}`,
        'buyers not debited': state!.not_debited,
        'sessions still ACTIVE after paying': stillActive,
        '500s': counts.serverErrors,
        'invariant violations': total,
      }
      const pass = counts.unresolved === 0 && state!.paid === ROUNDS && state!.debits === ROUNDS && state!.not_debited === 0 &&
        counts.serverErrors === 0 && stillActive === 0 && total === 0
      record(9, 'kill -9 during payments, retry elsewhere with the same key', figures, pass)
      expect(counts.unresolved).toBe(0)
      expect(state).toEqual({ paid: ROUNDS, debits: ROUNDS, not_debited: 0 })
      expect(counts.serverErrors).toBe(0)
      expect(stillActive).toBe(0)
      expect(total).toBe(0)
    } finally {
      await cluster.stop()
    }
  }, 240_000)

  test('12. kill the instance running the admission job: one runner at a time, another takes over within a tick, capacity and rate kept', async () => {
    const RATE = 50
    const CAPACITY = 400
    const USERS = 700
    const KILLS = 3
    const cluster = await startCluster({ env: { QUEUE_ADMIT_PER_SECOND: String(RATE), QUEUE_MAX_ACTIVE: String(CAPACITY) } })
    const redis = new RedisClient(serviceUrl('REDIS_URL')!)
    try {
      const { concertId } = await cluster.createConcert({ seats: 1000 })
      const started = Date.now()
      await pool(Array.from({ length: USERS }, (_, i) => i), 64, async (i) => {
        const token = await issuer.issue(`c12-${i}`)
        const joined = await send(cluster.url(i), '/v1/queue/tokens', { token, body: { concertId } })
        expect([200, 201]).toContain(joined.status)
      })

      // The number of active sessions, read from Redis every 50 ms.
      let maxActive = 0
      let samples = 0
      let sampling = true
      const sampler = (async () => {
        while (sampling) {
          try {
            const n = Number(await redis.send('ZCOUNT', [`wr:{${concertId}}:active`, `(${Date.now()}`, '+inf']))
            maxActive = Math.max(maxActive, n)
            samples++
          } catch {} // a failed sample is skipped; the count of samples is reported
          await Bun.sleep(50)
        }
      })()

      // Every admission run is one log line at its end; [from, to] is when it held the job's lock and worked.
      type Tick = { instance: Instance; at: number; from: number; to: number; admitted: number }
      const runs = (): Tick[] =>
        cluster.instances.flatMap((instance) =>
          instance.logs
            .filter((l) => l.msg === 'job ran' && l.job === 'admission')
            .map((l) => ({ instance, at: Date.parse(l.time), from: Date.parse(l.ranFrom), to: Date.parse(l.ranTo), admitted: l.lines?.find((x: any) => x.concertId === concertId)?.admitted ?? 0 })),
        )
      const ticks = () => runs().filter((t) => t.admitted > 0)
      const takeovers: number[] = []
      for (let k = 0; k < KILLS; k++) {
        await Bun.sleep(1500)
        const latest = ticks().sort((a, b) => b.at - a.at)[0]
        if (!latest || !alive(latest.instance)) throw new Error('no live instance has admitted anyone yet')
        const killedAt = Date.now()
        latest.instance.kill()
        const replacement = cluster.startAnother()
        const deadline = Date.now() + 10_000
        let next: Tick | undefined
        // Any run of the job by another instance is the takeover, whether it admitted anyone or not: on a slow
        // box the line can reach its capacity before the last kill, and a run then has nobody to admit (a CI
        // run: takeovers 1003, 468 and none seen, with the capacity full).
        while (!next && Date.now() < deadline) {
          await Bun.sleep(20)
          next = runs().find((t) => t.instance !== latest.instance && t.at > killedAt)
        }
        takeovers.push(next ? next.at - killedAt : Infinity)
        await replacement
      }
      // Let the line run to the capacity.
      while (Date.now() - started < 20_000 && maxActive < CAPACITY) await Bun.sleep(250)
      await Bun.sleep(1500)
      sampling = false
      await sampler

      let admits: Record<string, string> | string[] = {}
      for (let attempt = 0; attempt < 5; attempt++) {
        try {
          admits = (await redis.send('HGETALL', [`wr:{${concertId}}:admits`])) as Record<string, string> | string[]
          break
        } catch {
          await Bun.sleep(200)
        }
      }
      const fields = Array.isArray(admits) ? Object.fromEntries(admits.flatMap((v, i) => (i % 2 === 0 ? [[v, admits[i + 1]!]] : []))) : admits
      // Fields named by a second are its admissions; 'b' and 'a' + second the live count before and after.
      const perSecond = Object.entries(fields).filter(([name]) => /^\d+$/.test(name)).map(([, n]) => Number(n))
      const busiestSecond = Math.max(...perSecond)
      const admittedTotal = perSecond.reduce((a, b) => a + b, 0)
      const runnersPerSecond = new Map<number, Set<Instance>>()
      for (const t of ticks()) {
        const second = Math.floor(t.at / 1000)
        runnersPerSecond.set(second, (runnersPerSecond.get(second) ?? new Set()).add(t.instance))
      }
      const sharedSeconds = [...runnersPerSecond.values()].filter((s) => s.size > 1).length
      // Two instances admitting at the same time: their runs' spans, from winning the lock to the end of
      // the work (both stamped by the job itself, on one machine's clock), intersect.
      const all = runs()
      let overlaps = 0
      for (const a of all) {
        for (const b of all) {
          const overlap = a.instance !== b.instance && a.from <= b.from && b.from < a.to
          if (overlap && a.admitted > 0 && b.admitted > 0) overlaps++
        }
      }
      const runners = new Set(ticks().map((t) => t.instance)).size
      const slowest = Math.max(...takeovers)
      const figures = {
        kills: KILLS,
        'takeover ms (each kill)': takeovers.map((t) => Math.round(t)).join(', '),
        'admission runs (instances)': `${all.length} (${runners})`,
        'overlapping runs that both admitted': overlaps,
        // By the second of each run's log line: a run that ends just past a second boundary shares that
        // second with the next run, so this is informational; the budget per second is Redis' own count.
        'seconds with runs of two instances that admitted (by log time)': sharedSeconds,
        'busiest second': `${busiestSecond} (rate ${RATE})`,
        'most active': `${maxActive} (capacity ${CAPACITY}, ${samples} samples)`,
        admitted: admittedTotal,
      }
      const pass = samples > 100 && overlaps === 0 && slowest <= 1500 && busiestSecond <= RATE && maxActive <= CAPACITY && admittedTotal === CAPACITY
      record(12, 'kill the admission runner', figures, pass)
      expect(overlaps).toBe(0)
      expect(slowest).toBeLessThanOrEqual(1500)
      expect(busiestSecond).toBeLessThanOrEqual(RATE)
      expect(maxActive).toBeLessThanOrEqual(CAPACITY)
      expect(admittedTotal).toBe(CAPACITY)
    } finally {
      redis.close()
      await cluster.stop()
    }
  }, 120_000)
})


