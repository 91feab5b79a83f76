import { randomBytes } from 'node:crypto'
import type { Config } from './config'
import { openDatabase } from './db/database'
import { buildApp } from './app'
import { scrape } from './health/routes'
import { embeddedSecret } from './identity/embedded-secret'
import { jobs } from './jobs/jobs'
import { createMetrics } from './metrics/metrics'
import { jsonLog, type Log } from './log'
import { composeServices } from './services'

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
  const app = buildApp({ ...services, config, sql, log, metrics, isShuttingDown: () => shuttingDown })
  const cron =
    options.runJobs ?? true
      ? jobs({ sql, singleConnection: database.mode === 'embedded', admission: services.admission, holds: services.seatHolds, log, metrics, tickMs: config.queue.tickMs })
      : null
  if (cron) app.use(cron.plugin)
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
  // METRICS_PORT: the scrape endpoint on a port of its own (kept off the public API port), nothing else there.
  const metricsServer =
    config.metricsPort === null
      ? null
      : Bun.serve({
          port: config.metricsPort,
          hostname: '0.0.0.0',
          fetch: (request) =>
            new URL(request.url).pathname === '/metrics' && (request.method === 'GET' || request.method === 'HEAD')
              ? scrape(metrics, request)
              : new Response('Only /metrics is served on this port\n', { status: 404, headers: { 'content-type': 'text/plain' } }),
        })

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
      return metricsServer?.port ?? null
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
      await app.server?.stop(false)
      await metricsServer?.stop(true)
      metrics.stop()
      await store.close()
      await database.close()
    },
  }
}

export type Server = Awaited<ReturnType<typeof startServer>>
