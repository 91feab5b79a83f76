import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { randomBytes } from 'node:crypto'
import type { Config } from './config'
import { connect, type Sql } from './db/client'
import type { EmbeddedDatabase } from './db/embedded'
import { migrate } from './db/migrate'
import { buildApp } from './app'
import { scrape } from './health/routes'
import { balance } from './balance/balance'
import { catalogue } from './catalogue/catalogue'
import { seedDemo } from './catalogue/demo'
import { holds } from './holds/holds'
import { seatHolds as seatHoldService } from './holds/seat-holds'
import { payments } from './payments/payments'
import { userTokens } from './identity/user-tokens'
import { jobs } from './jobs/jobs'
import { createMetrics } from './metrics/metrics'
import { jsonLog, type Log } from './log'
import { rateLimiter } from './http/rate-limit'
import { deriveQueueTokenSecret, queueTokens } from './waiting-room/queue-token'
import { lineSettings } from './waiting-room/settings'
import { openStore } from './waiting-room/stores'
import { admission } from './waiting-room/admission'
import { lineOperator } from './waiting-room/operator'
import { waitingRoom } from './waiting-room/waiting-room'

const SHUTDOWN_DRAIN_MS = 1000

export interface StartOptions {
  log?: Log
  /** Run the cron jobs (admission, lapse cleanup, key expiry). Tests drive ticks by hand. */
  runJobs?: boolean
  /** Listen on config.port; false = build the app only (tests use app.handle). */
  listen?: boolean
}

// Embedded mode keeps its own random secret in DATA_DIR so that tokens survive restarts.
function embeddedSecret(dataDir: string): string {
  const file = join(resolve(dataDir), 'auth-jwt-secret')
  if (existsSync(file)) return readFileSync(file, 'utf8').trim()
  mkdirSync(resolve(dataDir), { recursive: true })
  const secret = randomBytes(32).toString('base64url')
  writeFileSync(file, secret, { mode: 0o600 })
  return secret
}

export async function startServer(config: Config, options: StartOptions = {}) {
  const instanceId = `${process.pid}-${randomBytes(3).toString('hex')}`
  const log = options.log ?? jsonLog({ instanceId }, config.logLevel)
  const metrics = createMetrics()
  let embedded: EmbeddedDatabase | null = null
  let databaseUrl = config.databaseUrl
  if (databaseUrl === null) {
    // Loaded only in embedded mode: PGlite is a large WebAssembly module a server deployment never needs.
    const { startEmbeddedDatabase } = await import('./db/embedded')
    embedded = await startEmbeddedDatabase(config.dataDir)
    databaseUrl = embedded.url
  }
  // PGlite serves one connection at a time.
  const sql: Sql = connect(databaseUrl, {
    max: embedded ? 1 : config.dbPoolSize,
    prepare: config.dbPrepare,
    // Embedded mode has one connection by design and queues on it; a server pool must not hang.
    queueTimeoutMs: embedded ? undefined : config.dbQueueTimeoutMs,
  })
  const applied = await migrate(sql)
  if (applied.length) log({ level: 'info', msg: 'migrations applied', applied })

  const authSecret = config.authJwtSecret ?? embeddedSecret(config.dataDir)
  const tokens = userTokens(authSecret)
  const shop = catalogue(sql, { cacheMs: config.catalogueCacheMs })
  if (config.seedDemo && (await seedDemo(sql, shop))) log({ level: 'info', msg: 'demo concerts loaded' })

  const store = metrics.timedStore(await openStore(config, sql))
  const settings = lineSettings(sql, {
    maxActive: config.queue.maxActive,
    admitPerSecond: config.queue.admitPerSecond,
    activeTtlSeconds: config.queue.activeTtlSeconds,
    waitingIdleSeconds: config.queue.waitingIdleSeconds,
  })
  await settings.refresh()
  metrics.watchLines(store, (concertId) => settings.limitsFor(concertId))
  const lines = { store, settings, catalogue: shop }
  // The streams of this instance hear an admission now rather than at their next push tick.
  const admissions = admission({ ...lines, onChange: () => room.push.pushNow() })
  const room = waitingRoom({
    store,
    tokens: queueTokens(config.queueTokenSecret ?? deriveQueueTokenSecret(authSecret)),
    catalogue: shop,
    settings,
    log,
    pushTickMs: config.queue.tickMs,
  })
  const seatHolds = holds(sql, { holdTtlSeconds: config.holdTtlSeconds, maxHoldsPerUser: config.maxHoldsPerUser })
  let shuttingDown = false
  const app = buildApp({
    config,
    sql,
    catalogue: shop,
    seatHolds: seatHoldService({ holds: seatHolds, catalogue: shop, room, metrics, log }),
    payments: payments(sql, room, metrics),
    balance: balance(sql, { maxBalance: config.maxBalance }),
    room,
    store,
    operator: lineOperator(lines),
    userTokens: tokens,
    users: { tokens, limiter: rateLimiter(config.rateLimit) },
    log,
    metrics,
    isShuttingDown: () => shuttingDown,
  })
  if (options.runJobs ?? true) {
    app.use(jobs({ sql, singleConnection: embedded !== null, admission: admissions, holds: seatHolds, log, metrics, tickMs: config.queue.tickMs }))
  }
  if (options.listen ?? true) {
    // WORKERS > 1: the processes of one instance share the port (src/workers.ts). Off otherwise, so a
    // second program started on a taken port by mistake fails instead of silently sharing it.
    app.listen({ port: config.port, hostname: '0.0.0.0', reusePort: config.workers > 1 })
    log({
      level: 'info',
      msg: 'listening',
      url: `http://localhost:${app.server?.port}`,
      mode: embedded ? 'embedded' : 'server',
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
              ? scrape(metrics)
              : new Response('Only /metrics is served on this port\n', { status: 404, headers: { 'content-type': 'text/plain' } }),
        })

  return {
    app,
    sql,
    room,
    store,
    admission: admissions,
    holds: seatHolds,
    tokens,
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
      for (const job of Object.values((app.store as { cron?: Record<string, { stop(): void }> }).cron ?? {})) job.stop()
      // Drain first: /ready answers 503 and every answer says Connection: close, so load balancers and
      // keep-alive clients move on. Stopping to listen at once would reset a request that meets the
      // closing socket, and a client cannot know whether a reset request was done.
      if (app.server) await Bun.sleep(SHUTDOWN_DRAIN_MS)
      // Status streams never finish by themselves; ended now, their clients reconnect elsewhere.
      room.push.closeAll()
      await app.server?.stop(false)
      await metricsServer?.stop(true)
      metrics.stop()
      await store.close()
      await sql.end({ timeout: 5 })
      await embedded?.close()
    },
  }
}

export type Server = Awaited<ReturnType<typeof startServer>>
