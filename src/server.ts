import { randomBytes } from 'node:crypto'
import type { Config } from './config'
import { openDatabase } from './db/database'
import { buildApp } from './app'
import { embeddedSecret } from './identity/embedded-secret'
import { jobs } from './jobs/jobs'
import { createMetrics } from './metrics/metrics'
import { supervisedScrapes } from './metrics/instance-scrape'
import { metricsServer, type Exposition } from './metrics/metrics-server'
import { jsonLog, type Log } from './log'
import { composeServices } from './services'
import { isWorker, watchSupervisor, WORKER_ENV } from './workers'

const SHUTDOWN_DRAIN_MS = 1000

export interface StartOptions {
  log?: Log
  /** Run the cron jobs (admission, lapse cleanup, key expiry). Tests drive ticks by hand. */
  runJobs?: boolean
  /** Listen on config.port; false = build the app only (tests use app.handle). */
  listen?: boolean
}

export async function startServer(config: Config, options: StartOptions = {}) {
  const instanceId = `${process.pid}-${randomBytes(3).toString('hex')}`
  const log = options.log ?? jsonLog({ instanceId }, config.logLevel)
  const metrics = createMetrics()
  const database = await openDatabase(config)
  const { sql } = database
  if (database.applied.length) log({ level: 'info', msg: 'migrations applied', applied: database.applied })
  const authSecret = config.authJwtSecret ?? embeddedSecret(config.dataDir)
  const services = await composeServices(config, sql, { authSecret, log, metrics })
  const { store } = services

  let shuttingDown = false
  const ownExposition: Exposition = () => metrics.registry.metrics()
  // A worker of an instance (WORKERS > 1) answers a scrape with every worker's series, gathered by its
  // supervisor, which also serves METRICS_PORT; and it stops, as SIGTERM would stop it, once its
  // supervisor is gone (src/workers.ts).
  const worker = isWorker()
  const exposition = worker ? supervisedScrapes(ownExposition, process.env[WORKER_ENV]!).gather : ownExposition
  if (worker) watchSupervisor(() => process.kill(process.pid, 'SIGTERM'))
  const app = buildApp({ ...services, config, sql, log, metrics, exposition, isShuttingDown: () => shuttingDown })
  const cron =
    options.runJobs ?? true
      ? jobs({ sql, elections: database.elections, admission: services.admission, holds: services.seatHolds, log, metrics, tickMs: config.queue.tickMs })
      : null
  if (cron) app.use(cron.plugin)
  // METRICS_PORT: the scrape endpoint on a port of its own (kept off the public API port); the supervisor's
  // when there are workers. Bound first: a start that cannot have it stops before it says it listens.
  const scrapeServer = config.metricsPort === null || worker ? null : metricsServer(config.metricsPort, exposition, log)
  if (options.listen ?? true) {
    // WORKERS > 1: the processes of one instance share the port (src/workers.ts). Off otherwise, so a
    // second program started on a taken port by mistake fails instead of silently sharing it.
    app.listen({ port: config.port, hostname: '0.0.0.0', reusePort: config.workers > 1 })
    log({
      level: 'info',
      msg: 'listening',
      url: `http://localhost:${app.server?.port}`,
      mode: database.mode,
      queueStore: store.kind,
    })
  }

  return {
    app,
    sql,
    room: services.room,
    store,
    admission: services.admission,
    holds: services.seatHolds,
    tokens: services.userTokens,
    log,
    get port() {
      return app.server?.port ?? 0
    },
    /** The METRICS_PORT server's port, or null when /metrics is on the API port. */
    get metricsPort() {
      return scrapeServer?.port ?? null
    },
    /** Graceful stop: refuse new work, let requests in flight finish, then close connections. */
    async stop() {
      if (shuttingDown) return
      shuttingDown = true
      cron?.stop()
      // Drain first: /ready answers 503 and every answer says Connection: close, so load balancers and
      // keep-alive clients move on. Stopping to listen at once would reset a request that meets the
      // closing socket, and a client cannot know whether a reset request was done.
      if (app.server) await Bun.sleep(SHUTDOWN_DRAIN_MS)
      // Status streams never finish by themselves; ended now, their clients reconnect elsewhere.
      services.room.push.closeAll()
      services.room.stop()
      await app.server?.stop(false)
      await scrapeServer?.stop(true)
      metrics.stop()
      await store.close()
      await database.close()
    },
  }
}

export type Server = Awaited<ReturnType<typeof startServer>>
