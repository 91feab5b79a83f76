import { describe, expect, test } from 'bun:test'
import { ConfigError, loadConfig } from '../src/config'

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

  test('DATABASE_PREPARE, DATABASE_QUEUE_TIMEOUT_MS and WORKERS are read and checked', () => {
    expect(loadConfig(server)).toMatchObject({ dbPrepare: true, dbQueueTimeoutMs: 2000, workers: 1 })
    expect(loadConfig({ ...server, DATABASE_PREPARE: 'false', DATABASE_QUEUE_TIMEOUT_MS: '500', WORKERS: '4' })).toMatchObject({
      dbPrepare: false,
      dbQueueTimeoutMs: 500,
      workers: 4,
    })
    expect(() => loadConfig({ ...server, DATABASE_PREPARE: 'maybe' })).toThrow(/DATABASE_PREPARE/)
    expect(() => loadConfig({ ...server, WORKERS: '0' })).toThrow(/WORKERS/)
    // Embedded Postgres lives in one process: a second worker would open the same data directory.
    expect(() => loadConfig({ WORKERS: '2' })).toThrow(/WORKERS/)
  })

  test('production hides dev tokens and refuses to enable them', () => {
    expect(loadConfig({ NODE_ENV: 'production' }).authDevTokens).toBe(false)
    expect(() => loadConfig({ NODE_ENV: 'production', AUTH_DEV_TOKENS: 'true' })).toThrow(/AUTH_DEV_TOKENS/)
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
  })
})
