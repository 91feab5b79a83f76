import { describe, expect, test } from 'bun:test'
import { ConfigError, loadConfig, startupFailure } from '../src/config'

const server = { DATABASE_URL: 'postgres://u@localhost/db', AUTH_JWT_SECRET: 'x'.repeat(32) }

describe('configuration', () => {
  test('defaults follow the contract', () => {
    const c = loadConfig({})
    expect(c.embedded).toBe(true)
    expect(c.port).toBe(3000)
    expect(c.dataDir).toBe('./.data')
    expect(c.queueStore).toBe('postgres')
    expect(c.authDevTokens).toBe(true)
    expect(c.seedDemo).toBe(true)
    expect(c.holdTtlSeconds).toBe(300)
    expect(c.maxHoldsPerUser).toBe(4)
    expect(c.queue).toEqual({ maxActive: 1000, admitPerSecond: 50, activeTtlSeconds: 600, waitingIdleSeconds: 300, tickMs: 1000 })
    expect(c.maxCharge).toBe(10_000_000)
    expect(c.maxBalance).toBe(1_000_000_000)
  })

  test('a server database turns off embedded defaults and requires AUTH_JWT_SECRET', () => {
    const c = loadConfig(server)
    expect(c.embedded).toBe(false)
    expect(c.authDevTokens).toBe(false)
    expect(c.seedDemo).toBe(false)
    expect(() => loadConfig({ DATABASE_URL: server.DATABASE_URL })).toThrow(/AUTH_JWT_SECRET/)
  })

  test('the queue store follows the Redis settings', () => {
    expect(loadConfig({ REDIS_URL: 'redis://localhost:6379' }).queueStore).toBe('redis-tcp')
    expect(
      loadConfig({ UPSTASH_REDIS_REST_URL: 'http://localhost:8079', UPSTASH_REDIS_REST_TOKEN: 't', REDIS_URL: 'redis://x' }).queueStore,
    ).toBe('redis-rest')
    expect(() => loadConfig({ UPSTASH_REDIS_REST_URL: 'http://localhost:8079' })).toThrow(/UPSTASH_REDIS_REST_TOKEN/)
  })

  test('REDIS_CLUSTER_NODES puts the waiting room on a Redis Cluster; a bad list or a second store stops the start', () => {
    const c = loadConfig({ ...server, REDIS_CLUSTER_NODES: ' 10.0.0.1:7000, redis-b:7001,[::1]:7002 ' })
    expect(c.queueStore).toBe('redis-cluster')
    expect(c.redisClusterNodes).toBe('10.0.0.1:7000,redis-b:7001,[::1]:7002')
    for (const bad of ['10.0.0.1', 'a:0', 'a:70000', 'a:1,,b:2', 'a b:1']) {
      expect(() => loadConfig({ ...server, REDIS_CLUSTER_NODES: bad })).toThrow(/REDIS_CLUSTER_NODES/)
    }
    expect(() => loadConfig({ ...server, REDIS_CLUSTER_NODES: 'a:1', REDIS_URL: 'redis://x' })).toThrow(/REDIS_CLUSTER_NODES/)
  })

  test('DATABASE_PREPARE, DATABASE_QUEUE_TIMEOUT_MS, DATABASE_READ_TIMEOUT_MS and WORKERS are read and checked', () => {
    expect(loadConfig(server)).toMatchObject({ dbPrepare: true, dbQueueTimeoutMs: 2000, dbReadTimeoutMs: 5000, workers: 1 })
    expect(
      loadConfig({ ...server, DATABASE_PREPARE: 'false', DATABASE_QUEUE_TIMEOUT_MS: '500', DATABASE_READ_TIMEOUT_MS: '750', WORKERS: '4' }),
    ).toMatchObject({
      dbPrepare: false,
      dbQueueTimeoutMs: 500,
      dbReadTimeoutMs: 750,
      workers: 4,
    })
    expect(() => loadConfig({ ...server, DATABASE_READ_TIMEOUT_MS: '50' })).toThrow(/DATABASE_READ_TIMEOUT_MS/)
    expect(() => loadConfig({ ...server, DATABASE_PREPARE: 'maybe' })).toThrow(/DATABASE_PREPARE/)
    expect(() => loadConfig({ ...server, WORKERS: '0' })).toThrow(/WORKERS/)
    // Embedded Postgres lives in one process: a second worker would open the same data directory.
    expect(() => loadConfig({ WORKERS: '2' })).toThrow(/WORKERS/)
    // PORT=0 is a free port per process: two workers took two ports (a hostile probe).
    expect(() => loadConfig({ ...server, WORKERS: '2', PORT: '0' })).toThrow(/^PORT must be a fixed port when WORKERS > 1/)
    expect(loadConfig({ ...server, WORKERS: '1', PORT: '0' }).port).toBe(0)
  })

  test('a URL that is refused is shown without the password of its user (a hostile probe saw it printed)', () => {
    for (const [name, raw] of [
      ['DATABASE_URL', 'postgres://app:s3cr3tPW@127.0.0.1:notaport/x'],
      ['DATABASE_URL', 'http://app:s3cr3tPW@db.example/x'],
      ['DATABASE_URL', 'postgres://app:s3cr3tPW@[::1:5432/x'],
      ['REDIS_URL', 'rediss://default:s3cr3tPW@cache:notaport'],
    ] as const) {
      let message = 'started'
      try {
        loadConfig({ ...server, [name]: raw })
      } catch (error) {
        message = (error as Error).message
      }
      expect(message).toStartWith(`${name} must be a URL`)
      expect(message).toContain(':***@')
      expect(message).not.toContain('s3cr3tPW')
    }
  })

  test('production hides dev tokens and refuses to enable them', () => {
    expect(loadConfig({ NODE_ENV: 'production' }).authDevTokens).toBe(false)
    expect(() => loadConfig({ NODE_ENV: 'production', AUTH_DEV_TOKENS: 'true' })).toThrow(/AUTH_DEV_TOKENS/)
  })

  test('NODE_ENV is production in any case and spacing, with all its refusals', () => {
    for (const value of ['PRODUCTION', 'Production', ' production ']) {
      const c = loadConfig({ NODE_ENV: value })
      expect(c).toMatchObject({ production: true, nodeEnv: 'production', authDevTokens: false })
      expect(() => loadConfig({ NODE_ENV: value, AUTH_DEV_TOKENS: 'true' })).toThrow(/^AUTH_DEV_TOKENS cannot be true when NODE_ENV=production/)
    }
  })

  test('NODE_ENV is production, development or test; a look-alike (prod, staging) stops the start', () => {
    expect(loadConfig({})).toMatchObject({ production: false, nodeEnv: 'development' })
    expect(loadConfig({ NODE_ENV: 'Development' })).toMatchObject({ production: false, nodeEnv: 'development' })
    expect(loadConfig({ NODE_ENV: 'test' })).toMatchObject({ production: false, nodeEnv: 'test' })
    for (const value of ['prod', 'PROD', 'production1', 'prduction', 'staging', 'live']) {
      expect(() => loadConfig({ NODE_ENV: value, AUTH_DEV_TOKENS: 'true' })).toThrow(
        `NODE_ENV must be one of production, development, test (got ${JSON.stringify(value)})`,
      )
    }
  })

  test('MAX_CHARGE above MAX_BALANCE shows both values, saying which one is the default', () => {
    expect(() => loadConfig({ MAX_BALANCE: '1' })).toThrow(
      new ConfigError('MAX_CHARGE must not exceed MAX_BALANCE (got MAX_CHARGE=10000000 (default), MAX_BALANCE=1)'),
    )
    expect(() => loadConfig({ MAX_CHARGE: '5', MAX_BALANCE: '4' })).toThrow(
      new ConfigError('MAX_CHARGE must not exceed MAX_BALANCE (got MAX_CHARGE=5, MAX_BALANCE=4)'),
    )
  })

  test('a required variable that is missing is said to be not set, never "undefined"', () => {
    const messages = [
      { DATABASE_URL: server.DATABASE_URL },
      { UPSTASH_REDIS_REST_URL: 'http://localhost:8079' },
      { UPSTASH_REDIS_REST_TOKEN: 't' },
      { MAX_BALANCE: '1' },
    ].map((env) => {
      try {
        loadConfig(env)
      } catch (error) {
        return (error as Error).message
      }
      return 'started'
    })
    expect(messages).toEqual([
      'AUTH_JWT_SECRET is required when DATABASE_URL is set (not set)',
      'UPSTASH_REDIS_REST_TOKEN must be set together with its pair (not set)',
      'UPSTASH_REDIS_REST_URL must be set together with its pair (not set)',
      expect.stringContaining('MAX_BALANCE=1'),
    ])
    for (const message of messages) expect(message).not.toContain('undefined')
  })

  test('a port another program holds is named in one line: PORT, its default, or METRICS_PORT', () => {
    // Bun's error when a port is taken names it only in its message.
    const inUse = (port: number) => Object.assign(new Error(`Failed to start server. Is port ${port} in use?`), { code: 'EADDRINUSE', syscall: 'listen' })
    expect(startupFailure(inUse(4300), loadConfig({ PORT: '4300' }), { PORT: '4300' })).toBe('PORT 4300 is in use by another program (EADDRINUSE)')
    expect(startupFailure(inUse(3000), loadConfig({ PORT: '' }), { PORT: '' })).toBe('PORT 3000 (the default: PORT is empty) is in use by another program (EADDRINUSE)')
    expect(startupFailure(inUse(3000), loadConfig({}), {})).toBe('PORT 3000 (the default: PORT is not set) is in use by another program (EADDRINUSE)')
    const withMetrics = { PORT: '4300', METRICS_PORT: '4301' }
    expect(startupFailure(inUse(4301), loadConfig(withMetrics), withMetrics)).toBe('METRICS_PORT 4301 is in use by another program (EADDRINUSE)')
    expect(startupFailure(inUse(4300), loadConfig(withMetrics), withMetrics)).toBe('PORT 4300 is in use by another program (EADDRINUSE)')
    // Anything else is a bug, not a setting: no line, the stack is printed.
    expect(startupFailure(new TypeError('x is not a function'), loadConfig({}))).toBeNull()
  })

  test('METRICS_PORT 0 is a free port of the system, as PORT 0 is (the process logs which)', () => {
    expect(loadConfig({ PORT: '0', METRICS_PORT: '0' })).toMatchObject({ port: 0, metricsPort: 0 })
  })

  test.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['HOLD_TTL_SECONDS', '0'],
    ['HOLD_TTL_SECONDS', '1.5'],
    ['MAX_HOLDS_PER_USER', '-1'],
    ['QUEUE_MAX_ACTIVE', 'lots'],
    ['QUEUE_TICK_MS', '700'],
    ['QUEUE_TICK_MS', '7000'],
    ['MAX_CHARGE', '2000000000'],
    ['SEED_DEMO', 'maybe'],
    ['DATABASE_URL', 'mysql://x'],
    ['REDIS_URL', 'http://x'],
    ['NODE_ENV', 'prod'],
    ['METRICS_PORT', '-1'],
  ])('a bad %s (%s) stops the start with one line naming it', (name, value) => {
    let error: unknown
    try {
      loadConfig({ [name]: value })
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as Error).message).toStartWith(name)
    expect((error as Error).message).not.toContain('\n')
    expect((error as Error).message).not.toContain('undefined')
  })
})
