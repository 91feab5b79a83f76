import type { Subprocess } from 'bun'
import type { Log } from './log'
import { workerScrapes } from './metrics/instance-scrape'
import { metricsServer } from './metrics/metrics-server'

// WORKERS=N: one instance is N processes of this same program, all listening on its port. The kernel
// spreads incoming connections over them (SO_REUSEPORT, Bun.serve's `reusePort`), so one instance uses
// N cores. The processes share nothing but Postgres and the queue store, exactly like separate
// instances: every job stays elected in SQL, so N workers run each tick once between them.
//
// The supervisor starts the workers, starts a worker again if one dies, and on SIGTERM/SIGINT passes the
// signal on and exits when every worker has drained and exited. It answers the instance's scrapes: on
// METRICS_PORT itself (one process can bind it; a worker each tried and all but one crashed in a loop),
// and for a worker asked at /metrics on the API port; either way with every worker's series
// (src/metrics/instance-scrape.ts). A worker stops when its supervisor is gone (watchSupervisor).
export const WORKER_ENV = 'CWR_WORKER_INDEX'

const RESTART_PAUSE_MS = 1000
/**
 * The exit code of a worker that cannot start for a cause outside it (a port taken, the database not
 * reachable: src/index.ts says which on one line). Starting it again cannot help; the instance stops, as
 * a single process does (a hostile probe: the supervisor restarted such workers 30 times in 15 s).
 */
export const STARTUP_FAILED = 78 // EX_CONFIG (sysexits.h)

export function isWorker(): boolean {
  return process.env[WORKER_ENV] !== undefined
}

export async function superviseWorkers(count: number, log: Log, metricsPort: number | null): Promise<never> {
  const workers = new Map<number, Subprocess>()
  let stopping = false
  const scrapes = workerScrapes(() => workers)
  const metrics = metricsPort === null ? null : metricsServer(metricsPort, scrapes.gather, log)

  const start = (index: number) => {
    const child = Bun.spawn([process.execPath, ...process.argv.slice(1)], {
      env: { ...process.env, [WORKER_ENV]: String(index) },
      stdin: 'ignore',
      stdout: 'inherit',
      stderr: 'inherit',
      ipc: (message, from) => void scrapes.heard(message, from),
    })
    workers.set(index, child)
    void child.exited.then((code) => {
      if (workers.get(index) !== child) return
      workers.delete(index)
      if (stopping) return
      if (code === STARTUP_FAILED) return stopAll('SIGTERM', 1)
      // A worker that stops on its own (a crash, or a start that failed) is replaced after a pause, so
      // a bad configuration does not spin.
      log({ level: 'error', msg: 'worker exited; starting it again', worker: index, pid: child.pid, code })
      setTimeout(() => !stopping && start(index), RESTART_PAUSE_MS)
    })
  }
  for (let i = 0; i < count; i++) start(i)
  log({ level: 'info', msg: 'workers started', workers: count, pids: [...workers.values()].map((w) => w.pid) })

  /** Passes the signal on, waits for every worker to drain and exit, then exits (1 if any did not exit 0). */
  async function stopAll(signal: 'SIGTERM' | 'SIGINT', code = 0) {
    if (stopping) return
    stopping = true
    log({ level: code === 0 ? 'info' : 'error', msg: code === 0 ? 'stopping workers' : 'a worker cannot start; stopping the instance', signal })
    const running = [...workers.values()]
    for (const worker of running) worker.kill(signal)
    const codes = await Promise.all(running.map((w) => w.exited))
    await metrics?.stop(true)
    log({ level: 'info', msg: 'workers stopped', codes })
    process.exit(code === 0 && codes.every((c) => c === 0) ? 0 : 1)
  }

  return new Promise<never>(() => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => void stopAll(signal))
  })
}

const SUPERVISOR_CHECK_MS = 1000

/**
 * In a worker: stops it (as SIGTERM would: drained, then exit) once its supervisor is gone. A supervisor
 * killed with SIGKILL cannot pass anything on, and its workers went on serving the port as orphans beside
 * the next supervisor's.
 */
export function watchSupervisor(stop: () => void) {
  const supervisor = process.ppid
  const timer = setInterval(() => {
    if (process.ppid === supervisor) return
    clearInterval(timer)
    stop()
  }, SUPERVISOR_CHECK_MS)
  timer.unref()
}
