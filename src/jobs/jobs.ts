import { Elysia } from 'elysia'
import { cron } from '@elysiajs/cron'
import type { Sql } from '../db/client'
import { advisoryLocks, jobLocks, type JobName } from '../db/locks'
import { statements, theRow } from '../db/statements'
import type { SeatHolds } from '../holds/seat-holds'
import { expireKeys } from '../idempotency/idempotency'
import type { Log } from '../log'
import type { Metrics } from '../metrics/metrics'
import type { Admission } from '../waiting-room/admission'

const q = statements('jobs', ['try_lock_job'])


/**
 * Runs `work` if this instance wins the job's lock for this tick. The lock lives in a transaction on
 * `elections`, connections of the jobs' own (src/db/database.ts), that stays open while the work runs on the
 * requests' pool. It only saves duplicate work: every job is correct when run twice at once (admission
 * budgets are checked in the store, lapse and expiry are conditional updates).
 * Without `elections` (embedded mode, one process per data directory) there is nobody to elect and the work
 * runs directly.
 */
export async function runElected<T>(elections: Sql | null, job: JobName, work: () => Promise<T>): Promise<T | null> {
  if (elections === null) return work()
  return elections.begin(async (tx) => {
    const row = theRow(await q.try_lock_job<{ locked: boolean }>(tx, [advisoryLocks.jobs, jobLocks[job]]), 'try_lock_job')
    return row.locked ? work() : null
  }) as Promise<T | null>
}

export interface JobDeps {
  sql: Sql
  /** The connections the elections keep (Database.elections); null: run every job without one. */
  elections: Sql | null
  admission: Admission
  holds: Pick<SeatHolds, 'lapse'>
  log: Log
  metrics: Metrics
  tickMs: number
}

function secondsPattern(everySeconds: number): string {
  return everySeconds === 1 ? '* * * * * *' : `*/${everySeconds} * * * * *`
}

type Summary = Record<string, unknown>

// In-process cron in every instance; each run is elected through Postgres. Every run this instance wins
// is logged (one line, with what it did) and counted; skipped ticks are only counted.
export function jobs({ sql, elections, admission, holds, log, metrics, tickMs }: JobDeps) {
  const running = new Set<JobName>()
  const run = (job: JobName, work: () => Promise<Summary>) => async () => {
    if (running.has(job)) return // the previous run in this process is still going
    running.add(job)
    const started = performance.now()
    // When this instance held the job's lock and worked, by the wall clock: the log line carries it, so
    // runs of different instances can be laid side by side (they must never overlap).
    let ranFrom = 0
    let ranTo = 0
    try {
      const result = await runElected(elections, job, () => {
        ranFrom = Date.now()
        return work().finally(() => (ranTo = Date.now()))
      })
      if (result === null) {
        metrics.jobRuns.inc({ job, outcome: 'skipped' })
        return
      }
      const seconds = (performance.now() - started) / 1000
      metrics.jobRuns.inc({ job, outcome: 'ran' })
      metrics.jobDuration.observe({ job }, seconds)
      metrics.jobLastRun.setToCurrentTime({ job })
      const idle = Object.values(result).every((v) => v === 0 || (Array.isArray(v) && v.length === 0))
      log({ level: idle ? 'debug' : 'info', msg: 'job ran', job, ms: Math.round(seconds * 1000), ranFrom: new Date(ranFrom).toISOString(), ranTo: new Date(ranTo).toISOString(), ...result })
    } catch (error) {
      metrics.jobRuns.inc({ job, outcome: 'failed' })
      log({ level: 'warn', msg: 'job failed', job, error: String(error) })
    } finally {
      running.delete(job)
    }
  }

  const admit = async () => {
    const lines = await admission.tick()
    for (const line of lines) {
      metrics.admitted.inc({ concert: line.concertId }, line.admitted)
      metrics.tickAdmitted.observe(line.admitted)
    }
    return { admitted: lines.reduce((n, l) => n + l.admitted, 0), lines }
  }

  const plugin = new Elysia({ name: 'jobs' })
    .use(
      cron({
        name: 'admission',
        pattern: secondsPattern(tickMs / 1000),
        // Every instance refreshes the per-concert settings each tick, whoever runs the admission.
        run: async () => {
          await admission.refreshSettings().catch((error) => log({ level: 'warn', msg: 'settings refresh failed', error: String(error) }))
          await run('admission', admit)()
        },
      }),
    )
    // Every second: the seats of lapsed holds are free without it (every read and hold judges a lapse by
    // the time), but a session that paid and had its last hold lapse reads ACTIVE with nothing held until
    // this run tells the store (helper-49 saw up to 1.9 s when it ran every 5 s; test/system/lapse-job.test.ts).
    .use(cron({ name: 'lapseHolds', pattern: secondsPattern(1), run: run('lapseHolds', async () => {
      const result = await holds.lapse()
      metrics.holdsLapsed.inc(result.lapsed)
      return result
    }) }))
    .use(cron({ name: 'expireIdempotencyKeys', pattern: '0 */10 * * * *', run: run('expireIdempotencyKeys', async () => ({ expired: await expireKeys(sql) })) }))
  return {
    /** The cron jobs, for the app to run. */
    plugin,
    /** Stops every job of this instance (graceful shutdown); a run in progress finishes. */
    stop() {
      for (const job of Object.values(plugin.store.cron)) job.stop()
    },
  }
}
