import { Elysia } from 'elysia'
import { cron } from '@elysiajs/cron'
import type { Sql } from '../db/client'
import { statements } from '../db/statements'
import type { Holds } from '../holds/holds'
import { expireKeys } from '../idempotency/idempotency'
import type { Log } from '../log'
import type { WaitingRoom } from '../waiting-room/waiting-room'

const q = statements('jobs', ['try_lock_job'])

export const JOB_KEYS = { admission: 1, lapseHolds: 2, expireIdempotencyKeys: 3 } as const
export type JobName = keyof typeof JOB_KEYS

/**
 * Runs `work` if this instance wins the job's lock for this tick. The lock lives in a short transaction
 * that stays open while the work runs (on other pooled connections). It only saves duplicate work: every
 * job is correct when run twice at once (admission budgets are checked in the store, lapse and expiry are
 * conditional updates).
 * With a single-connection pool (embedded mode, one process per data directory) there is nobody to
 * elect and the work runs directly.
 */
export async function runElected<T>(sql: Sql, job: JobName, singleConnection: boolean, work: () => Promise<T>): Promise<T | null> {
  if (singleConnection) return work()
  return sql.begin(async (tx) => {
    const [row] = await q.try_lock_job<{ locked: boolean }>(tx, [JOB_KEYS[job]])
    return row!.locked ? work() : null
  }) as Promise<T | null>
}

export interface JobDeps {
  sql: Sql
  singleConnection: boolean
  room: WaitingRoom
  holds: Holds
  log: Log
  tickMs: number
  instanceId: string
}

function secondsPattern(everySeconds: number): string {
  return everySeconds === 1 ? '* * * * * *' : `*/${everySeconds} * * * * *`
}

// In-process cron in every instance; each run is elected through Postgres.
export function jobs({ sql, singleConnection, room, holds, log, tickMs, instanceId }: JobDeps) {
  const running = new Set<JobName>()
  const run = (job: JobName, work: () => Promise<unknown>) => async () => {
    if (running.has(job)) return // the previous run in this process is still going
    running.add(job)
    const started = performance.now()
    try {
      const result = await runElected(sql, job, singleConnection, work)
      if (result !== null && job !== 'admission' && Object.values(result as object).some((n) => n !== 0)) {
        log({ level: 'info', msg: 'job ran', job, instanceId, ms: Math.round(performance.now() - started), result })
      }
    } catch (error) {
      log({ level: 'warn', msg: 'job failed', job, instanceId, error: String(error) })
    } finally {
      running.delete(job)
    }
  }

  return new Elysia({ name: 'jobs' })
    .use(cron({ name: 'admission', pattern: secondsPattern(tickMs / 1000), run: run('admission', () => room.tick()) }))
    .use(cron({ name: 'lapseHolds', pattern: secondsPattern(5), run: run('lapseHolds', () => holds.lapse()) }))
    .use(cron({ name: 'expireIdempotencyKeys', pattern: '0 */10 * * * *', run: run('expireIdempotencyKeys', () => expireKeys(sql)) }))
}
