import { join } from 'node:path'
import { runLoad, type LoadOptions, type LoadResult } from './driver'
import { encodeRequest, HttpConnection } from './http-client'
import { freePort } from '../../support/ports'
import { cpuUs, httpReady, spawnChild } from './processes'
import { cleanEnv } from './stores'
import { runWrk, WRK, type WrkPlan, type WrkResult } from './wrk'

// The HTTP ceiling: what the server stack itself can do on this machine, now. A tiny Elysia server
// (ceiling-server.ts) in a child process like the app, one GET route returning small JSON, driven by
// the same driver with the same number of connections. It stays up for the whole run and is measured
// again beside every scenario (see measure() in scenarios/common.ts), because on a shared box "now"
// changes within minutes. Store ceilings are per scenario: each scenario names its own direct
// service / store calls (scenarios/*.ts), run by the same driver.

export interface HttpCeiling {
  /** The trivial route now, with `connections` (default: the run's) and the run's driver. */
  measure(timing: LoadOptions, connections?: number): Promise<LoadResult>
  stop(): Promise<void>
}

export async function startHttpCeiling(concurrency: number, logDir: string, driver: 'wrk' | 'bun'): Promise<HttpCeiling> {
  const port = freePort()
  const server = await spawnChild({
    name: 'http-ceiling',
    argv: ['bun', join(import.meta.dir, 'ceiling-server.ts')],
    env: { ...cleanEnv(), PORT: String(port) },
    port,
    logDir,
    ready: () => httpReady(port, '/'),
  })
  const request = encodeRequest(`127.0.0.1:${port}`, { method: 'GET', path: '/' })
  const connections = Array.from({ length: concurrency }, () => new HttpConnection('127.0.0.1', port))
  const operations = connections.map((c) => async () => {
    const response = await c.send(request)
    if (response.status !== 200) throw new Error(`${response.status}`)
  })
  return {
    async measure(timing, n = concurrency) {
      if (driver === 'wrk' && WRK) {
        const plan = { expected: [200], requests: () => [request] }
        return runWrk({ host: '127.0.0.1', port, connections: n, seconds: timing.durationMs / 1000, plan, count: 1 })
      }
      return runLoad(timing, operations.slice(0, n))
    },
    async stop() {
      for (const c of connections) c.close()
      await server.stop()
    },
  }
}

/**
 * The join's floor (same-work-server.ts): the work a join cannot do without, on bare Elysia and Redis,
 * with none of our code. Started for one measurement beside the join scenario, then stopped; its Redis
 * keys are the line's own under another prefix, removed after.
 */
export async function measureSameWorkJoin(o: {
  redisUrl: string
  authSecret: string
  logDir: string
  plan: WrkPlan
  connections: number
  seconds: number
  concertId: string
}): Promise<WrkResult & { cpuUsPerRequest: number | null }> {
  const port = freePort()
  const server = await spawnChild({
    name: 'same-work',
    argv: ['bun', join(import.meta.dir, 'same-work-server.ts')],
    env: { ...cleanEnv(), PORT: String(port), REDIS_URL: o.redisUrl, AUTH_SECRET: o.authSecret },
    port,
    logDir: o.logDir,
    ready: () => httpReady(port, '/'),
  })
  const redis = new Bun.RedisClient(o.redisUrl)
  try {
    const run = (seconds: number) => runWrk({ host: '127.0.0.1', port, connections: o.connections, seconds, plan: o.plan, count: seconds * (o.plan.perSecond ?? 60_000) })
    await run(1) // warm-up
    // Its CPU per request, beside the row's appCpuUsPerRequest: what our code costs a join seen as CPU
    // rather than throughput.
    const before = cpuUs(server.pid)
    const result = await run(o.seconds)
    const after = cpuUs(server.pid)
    const requests = result.totalOps + result.totalErrors
    return { ...result, cpuUsPerRequest: before !== null && after !== null && requests > 0 ? (after - before) / requests : null }
  } finally {
    await server.stop()
    await redis.send('DEL', [`same-work:{${o.concertId}}:seq`, `same-work:{${o.concertId}}:line`]).catch(() => {})
    redis.close()
  }
}
