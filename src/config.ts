// Configuration is read and validated once, at start. A bad value stops the start with one line that
// names the variable, so an operator never meets a half-configured instance.

import type { QueueStoreKind } from './waiting-room/store'

export class ConfigError extends Error {}

/**
 * A start that cannot go on for a reason outside the process (a port taken, a data directory that is a file,
 * a database that cannot be reached). Its message is one line that names the variable to look at, like
 * ConfigError's; src/index.ts prints it instead of a stack.
 */
export class StartupError extends Error {}

/** The first line of an error's message: what a StartupError quotes of its cause. */
export const firstLine = (error: unknown): string => String((error as Error | null)?.message ?? error).split('\n')[0]!

export interface Config {
  port: number
  /** production, development or test (lowercase, whatever case it was given in). */
  nodeEnv: NodeEnv
  production: boolean
  databaseUrl: string | null // null = embedded mode
  embedded: boolean
  dataDir: string
  upstash: { url: string; token: string } | null
  redisUrl: string | null
  /** Seed nodes of a Redis Cluster (`host:port,...`), or null. */
  redisClusterNodes: string | null
  queueStore: QueueStoreKind
  authJwtSecret: string | null // null only in embedded mode before the data dir supplies one
  authDevTokens: boolean
  queueTokenSecret: string | null
  adminApiKey: string | null
  seedDemo: boolean
  holdTtlSeconds: number
  maxHoldsPerUser: number
  queue: {
    maxActive: number
    admitPerSecond: number
    activeTtlSeconds: number
    waitingIdleSeconds: number
    tickMs: number
  }
  maxCharge: number
  maxBalance: number
  dbPoolSize: number
  /** Named prepared statements; false behind poolers that cannot keep them (PgBouncer transaction mode < 1.21). */
  dbPrepare: boolean
  /** How long a request waits for a free pooled connection before it is answered 503. */
  dbQueueTimeoutMs: number
  /** How long a statement that only reads waits for Postgres's answer before the request is answered 503. */
  dbReadTimeoutMs: number
  /** HTTP processes of this instance sharing its port. */
  workers: number
  /** Requests per second per user and instance (0 = no limit), and the burst allowed above it. */
  rateLimit: { perSecond: number; burst: number }
  logLevel: LogLevel
  logRequests: boolean
  /** How long seat maps and schedule counts may be reused for other readers (0 = every read queries). */
  catalogueCacheMs: number
  /** Browser origins allowed to call the API (CORS); empty = no CORS answers. */
  corsOrigins: string[]
  /** Serve /metrics on this port only, off the public API port; null = on the API port. */
  metricsPort: number | null
}

export const nodeEnvs = ['production', 'development', 'test'] as const
export type NodeEnv = (typeof nodeEnvs)[number]

export const logLevels = ['debug', 'info', 'warn', 'error'] as const
export type LogLevel = (typeof logLevels)[number]

type Env = Record<string, string | undefined>

// `got` says what was given: the raw value, "not set", or (for a rule between two variables) both of them.
function fail(name: string, rule: string, raw: string | undefined, got?: string): never {
  throw new ConfigError(`${name} ${rule} (${got ?? (raw === undefined ? 'not set' : `got ${JSON.stringify(raw)}`)})`)
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  if (!/^-?\d+$/.test(raw.trim())) fail(name, `must be an integer between ${min} and ${max}`, raw)
  const value = Number(raw.trim())
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    fail(name, `must be an integer between ${min} and ${max}`, raw)
  }
  return value
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  const v = raw.trim().toLowerCase()
  if (['true', '1', 'yes', 'on'].includes(v)) return true
  if (['false', '0', 'no', 'off'].includes(v)) return false
  return fail(name, 'must be true or false', raw)
}

function oneOf<const T extends readonly string[]>(env: Env, name: string, values: T, fallback: T[number]): T[number] {
  const raw = env[name]
  if (raw === undefined || raw.trim() === '') return fallback
  const value = raw.trim().toLowerCase()
  if (!values.includes(value)) fail(name, `must be one of ${values.join(', ')}`, raw)
  return value as T[number]
}

function text(env: Env, name: string): string | null {
  const raw = env[name]
  return raw === undefined || raw.trim() === '' ? null : raw.trim()
}

// A URL as a refusal may print it: the password of its user info is never shown, even in one that does
// not parse (a hostile probe: `postgres://app:secret@host:notaport/x` was printed whole).
const withoutPassword = (raw: string) => raw.replace(/(\/\/[^/@:]*):[^/@]*@/, '$1:***@')

function url(env: Env, name: string, protocols: string[]): string | null {
  const raw = text(env, name)
  if (raw === null) return null
  const refuse = () => fail(name, `must be a URL (${protocols.join(', ')})`, withoutPassword(raw))
  let parsed: URL
  try {
    parsed = new URL(raw)
  } catch {
    return refuse()
  }
  if (!protocols.includes(parsed.protocol)) refuse()
  return raw
}

// `host:port,host:port`: the seed nodes of a Redis Cluster (the client learns the rest from them).
function clusterNodes(env: Env, name: string): string | null {
  const raw = text(env, name)
  if (raw === null) return null
  const entries = raw.split(',').map((e) => e.trim())
  for (const entry of entries) {
    const match = /^([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\]):(\d{1,5})$/.exec(entry)
    if (!match || Number(match[2]) < 1 || Number(match[2]) > 65535) fail(name, 'must be a comma list of host:port', raw)
  }
  return entries.join(',')
}

function origins(env: Env, name: string): string[] {
  const raw = text(env, name)
  if (raw === null) return []
  return raw.split(',').map((entry) => {
    const origin = entry.trim()
    let parsed: URL | null = null
    try {
      parsed = new URL(origin)
    } catch {}
    // An origin is scheme://host[:port] and nothing else; a path or a trailing slash never matches a browser's Origin.
    if (!parsed || !['http:', 'https:'].includes(parsed.protocol) || parsed.origin !== origin) {
      fail(name, 'must be a comma list of origins such as https://tickets.example.com', raw)
    }
    return origin
  })
}

export function loadConfig(env: Env = process.env): Config {
  // Only production changes behaviour, so a value that is not exactly one of the three words (`prod`,
  // `staging`, `live`) stops the start rather than running as development with dev tokens and error details.
  // Case is not a spelling: `PRODUCTION` is production.
  const nodeEnv = oneOf(env, 'NODE_ENV', nodeEnvs, 'development')
  const production = nodeEnv === 'production'
  const databaseUrl = url(env, 'DATABASE_URL', ['postgres:', 'postgresql:'])
  const embedded = databaseUrl === null

  const restUrl = url(env, 'UPSTASH_REDIS_REST_URL', ['http:', 'https:'])
  const restToken = text(env, 'UPSTASH_REDIS_REST_TOKEN')
  if ((restUrl === null) !== (restToken === null)) {
    const missing = restUrl === null ? 'UPSTASH_REDIS_REST_URL' : 'UPSTASH_REDIS_REST_TOKEN'
    fail(missing, 'must be set together with its pair', env[missing])
  }
  const redisUrl = url(env, 'REDIS_URL', ['redis:', 'rediss:'])
  const upstash = restUrl && restToken ? { url: restUrl, token: restToken } : null
  const redisClusterNodes = clusterNodes(env, 'REDIS_CLUSTER_NODES')
  if (redisClusterNodes !== null && (redisUrl !== null || upstash !== null)) {
    fail('REDIS_CLUSTER_NODES', 'cannot be set together with REDIS_URL or UPSTASH_REDIS_REST_URL (choose one store)', env.REDIS_CLUSTER_NODES)
  }
  const queueStore: QueueStoreKind = upstash ? 'redis-rest' : redisClusterNodes ? 'redis-cluster' : redisUrl ? 'redis-tcp' : 'postgres'
  const workers = integer(env, 'WORKERS', 1, 1, 64)
  if (workers > 1 && embedded) {
    // PGlite keeps its data directory open in one process; a second process would corrupt it.
    fail('WORKERS', 'must be 1 in embedded mode (no DATABASE_URL)', env.WORKERS)
  }

  const authJwtSecret = text(env, 'AUTH_JWT_SECRET')
  if (!embedded && authJwtSecret === null) {
    fail('AUTH_JWT_SECRET', 'is required when DATABASE_URL is set', env.AUTH_JWT_SECRET)
  }
  if (authJwtSecret !== null && authJwtSecret.length < 16) {
    fail('AUTH_JWT_SECRET', 'must be at least 16 characters', '<hidden>')
  }
  const queueTokenSecret = text(env, 'QUEUE_TOKEN_SECRET')
  if (queueTokenSecret !== null && queueTokenSecret.length < 16) {
    fail('QUEUE_TOKEN_SECRET', 'must be at least 16 characters', '<hidden>')
  }

  const authDevTokens = bool(env, 'AUTH_DEV_TOKENS', embedded && !production)
  if (authDevTokens && production) {
    fail('AUTH_DEV_TOKENS', 'cannot be true when NODE_ENV=production', env.AUTH_DEV_TOKENS)
  }

  const tickMs = integer(env, 'QUEUE_TICK_MS', 1000, 1000, 60000)
  if (tickMs % 1000 !== 0 || 60 % (tickMs / 1000) !== 0) {
    // The job runs on a cron schedule with one-second resolution; ticks must divide a minute evenly.
    fail('QUEUE_TICK_MS', 'must be a whole number of seconds that divides 60 (1000, 2000, 3000, 5000, ...)', env.QUEUE_TICK_MS)
  }

  const maxBalance = integer(env, 'MAX_BALANCE', 1_000_000_000, 1, Number.MAX_SAFE_INTEGER)
  const maxCharge = integer(env, 'MAX_CHARGE', 10_000_000, 1, Number.MAX_SAFE_INTEGER)
  if (maxCharge > maxBalance) {
    const given = (name: string, value: number) => `${name}=${value}${env[name]?.trim() ? '' : ' (default)'}`
    fail('MAX_CHARGE', 'must not exceed MAX_BALANCE', env.MAX_CHARGE, `got ${given('MAX_CHARGE', maxCharge)}, ${given('MAX_BALANCE', maxBalance)}`)
  }

  const port = integer(env, 'PORT', 3000, 0, 65535)
  // PORT=0 takes a free port per process: the workers of one instance would each take another.
  if (port === 0 && workers > 1) fail('PORT', 'must be a fixed port when WORKERS > 1 (0 would give each worker a port of its own)', env.PORT)
  const metricsPort = env.METRICS_PORT?.trim() ? integer(env, 'METRICS_PORT', 0, 0, 65535) : null
  if (metricsPort !== null && metricsPort !== 0 && metricsPort === port) fail('METRICS_PORT', 'must differ from PORT', env.METRICS_PORT)

  return {
    port,
    nodeEnv,
    production,
    databaseUrl,
    embedded,
    dataDir: text(env, 'DATA_DIR') ?? './.data',
    upstash,
    redisUrl,
    redisClusterNodes,
    queueStore,
    authJwtSecret,
    authDevTokens,
    queueTokenSecret,
    adminApiKey: text(env, 'ADMIN_API_KEY'),
    seedDemo: bool(env, 'SEED_DEMO', embedded),
    holdTtlSeconds: integer(env, 'HOLD_TTL_SECONDS', 300, 1, 86400),
    maxHoldsPerUser: integer(env, 'MAX_HOLDS_PER_USER', 4, 1, 100),
    queue: {
      maxActive: integer(env, 'QUEUE_MAX_ACTIVE', 1000, 1, 1_000_000),
      admitPerSecond: integer(env, 'QUEUE_ADMIT_PER_SECOND', 50, 1, 100_000),
      activeTtlSeconds: integer(env, 'QUEUE_ACTIVE_TTL_SECONDS', 600, 1, 86400),
      waitingIdleSeconds: integer(env, 'QUEUE_WAITING_IDLE_SECONDS', 300, 1, 86400),
      tickMs,
    },
    maxCharge,
    maxBalance,
    // 10, not more: with Postgres on the instance's own small host, more connections only let more
    // statements run at once than it has cores for. Measured on 2 cores (bench --store postgres, runs
    // alternated): pools of 6, 10 and 14 within noise of each other; 20 gave 30-40% fewer holds and
    // hold + pay pairs and a 2-4x pay p99.
    dbPoolSize: integer(env, 'DATABASE_POOL_SIZE', 10, 1, 500),
    dbPrepare: bool(env, 'DATABASE_PREPARE', true),
    dbQueueTimeoutMs: integer(env, 'DATABASE_QUEUE_TIMEOUT_MS', 2000, 10, 60_000),
    dbReadTimeoutMs: integer(env, 'DATABASE_READ_TIMEOUT_MS', 5000, 100, 600_000),
    workers,
    rateLimit: {
      perSecond: integer(env, 'RATE_LIMIT_PER_SECOND', 20, 0, 1_000_000),
      burst: integer(env, 'RATE_LIMIT_BURST', 40, 1, 1_000_000),
    },
    logLevel: oneOf(env, 'LOG_LEVEL', logLevels, 'info'),
    logRequests: bool(env, 'LOG_REQUESTS', true),
    catalogueCacheMs: integer(env, 'CATALOGUE_CACHE_MS', 250, 0, 60_000),
    corsOrigins: origins(env, 'CORS_ORIGINS'),
    metricsPort,
  }
}

/**
 * The one line a failed start prints when its cause is outside the process and a variable can fix it
 * (StartupError, or a port another program holds); null for anything else, which is a bug and keeps its stack.
 */
export function startupFailure(error: unknown, config: Config, env: Env = process.env): string | null {
  if (error instanceof StartupError) return error.message
  const e = error as NodeJS.ErrnoException | null
  if (e?.syscall !== 'listen' || !e.code) return null
  // Bun's error names the port only in its message ("Failed to start server. Is port 3000 in use?").
  const port = Number(/port (\d+)/.exec(e.message)?.[1])
  const which =
    config.metricsPort !== null && port === config.metricsPort
      ? `METRICS_PORT ${port}`
      : port === config.port || config.metricsPort === null
        ? `PORT ${config.port}${env.PORT?.trim() ? '' : ` (the default: PORT is ${env.PORT === undefined ? 'not set' : 'empty'})`}`
        : `PORT ${config.port} or METRICS_PORT ${config.metricsPort}`
  if (e.code === 'EADDRINUSE') return `${which} is in use by another program (EADDRINUSE)`
  if (e.code === 'EACCES') return `${which} may not be listened on by this user (EACCES: ports below 1024 need privileges)`
  return `${which} cannot be listened on (${e.code})`
}
