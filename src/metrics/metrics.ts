import client from 'prom-client'
import { Histogram } from './histogram'
import type { WaitingRoomStore } from '../waiting-room/store'
import { runtimeMetrics } from './runtime'

// Prometheus metrics of one instance (prom-client's registry and types; it runs on Bun). Queue gauges
// are read from the store when scraped, so every instance reports the same line figures: aggregate them
// with max by (concert), not sum. Our metric names carry the application prefix; the process_* ones keep
// the names every Prometheus dashboard knows.
export const METRIC_PREFIX = 'concert_'

export function createMetrics() {
  const registry = new client.Registry()
  const registers = [registry]
  const runtime = runtimeMetrics(registry, METRIC_PREFIX)

  const http = new Histogram({
    name: `${METRIC_PREFIX}http_request_duration_seconds`,
    help: 'HTTP requests by route pattern and status; _count is the request count',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers,
  })
  const problems = new client.Counter({
    name: `${METRIC_PREFIX}http_problems_total`,
    help: 'Error responses by problem code',
    labelNames: ['code'] as const,
    registers,
  })
  const admitted = new client.Counter({
    name: `${METRIC_PREFIX}queue_admitted_total`,
    help: 'Users admitted by admission ticks that this instance ran',
    labelNames: ['concert'] as const,
    registers,
  })
  const tickAdmitted = new client.Histogram({
    name: `${METRIC_PREFIX}queue_tick_admitted`,
    help: 'Users admitted per line per admission tick run by this instance',
    buckets: [0, 1, 5, 10, 25, 50, 100, 250, 500, 1000],
    registers,
  })
  const holdsMade = new client.Counter({ name: `${METRIC_PREFIX}holds_made_total`, help: 'Seat holds made', registers })
  const holdsLapsed = new client.Counter({
    name: `${METRIC_PREFIX}holds_lapsed_total`,
    help: 'Lapsed holds tidied by the cleanup job run by this instance',
    registers,
  })
  const payments = new client.Counter({ name: `${METRIC_PREFIX}payments_total`, help: 'Payments made', registers })
  const paymentsWon = new client.Counter({ name: `${METRIC_PREFIX}payments_won_total`, help: 'Won taken by payments', registers })
  const storeLatency = new Histogram({
    name: `${METRIC_PREFIX}queue_store_seconds`,
    help: 'Round trips to the waiting-room store by operation',
    labelNames: ['store', 'op', 'outcome'] as const,
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 2],
    registers,
  })
  const jobRuns = new client.Counter({
    name: `${METRIC_PREFIX}job_runs_total`,
    help: 'Job ticks in this instance: ran (won the election), skipped (another instance ran it) or failed',
    labelNames: ['job', 'outcome'] as const,
    registers,
  })
  const jobDuration = new client.Histogram({
    name: `${METRIC_PREFIX}job_duration_seconds`,
    help: 'Duration of job runs in this instance',
    labelNames: ['job'] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers,
  })
  const jobLastRun = new client.Gauge({
    name: `${METRIC_PREFIX}job_last_run_timestamp_seconds`,
    help: 'When this instance last ran the job (the instance label says which instance)',
    labelNames: ['job'] as const,
    registers,
  })

  /** Line gauges, read from the store at scrape time (at most 100 lines). */
  function watchLines(store: WaitingRoomStore, limitsFor: (concertId: string) => Parameters<WaitingRoomStore['stats']>[1]) {
    const read = async () => {
      const lines = (await store.lines()).slice(0, 100)
      return Promise.all(lines.map(async (concert) => ({ concert, stats: await store.stats(concert, limitsFor(concert)) })))
    }
    let pending: ReturnType<typeof read> | null = null
    // One store read per scrape, shared by the gauges below.
    const snapshot = () => (pending ??= read().finally(() => setTimeout(() => (pending = null), 1000)))
    const gauge = (name: string, help: string, pick: (s: Awaited<ReturnType<typeof read>>[number]['stats']) => number | null) =>
      new client.Gauge({
        name,
        help,
        labelNames: ['concert'] as const,
        registers,
        async collect() {
          this.reset()
          for (const { concert, stats } of await snapshot().catch(() => [])) {
            const value = pick(stats)
            if (value !== null) this.set({ concert }, value)
          }
        },
      })
    gauge(`${METRIC_PREFIX}queue_waiting`, 'Users waiting in line (idle ones not counted)', (s) => s.waiting)
    gauge(`${METRIC_PREFIX}queue_active`, 'Active sessions', (s) => s.active)
    gauge(`${METRIC_PREFIX}queue_admitted_last_minute`, 'Users admitted in the last minute', (s) => s.admittedLastMinute)
    gauge(`${METRIC_PREFIX}queue_oldest_wait_seconds`, 'How long the user at the front has waited', (s) =>
      s.oldestJoinedMs === null ? null : Math.max(0, (Date.now() - s.oldestJoinedMs) / 1000),
    )
    gauge(`${METRIC_PREFIX}queue_sold_out`, '1 while the line is sold out', (s) => (s.soldOut ? 1 : 0))
  }

  /** The store with every call timed. */
  function timedStore(store: WaitingRoomStore): WaitingRoomStore {
    const timed = { ...store } as Record<string, unknown>
    for (const op of ['join', 'poll', 'pollMany', 'check', 'extend', 'shrink', 'finish', 'admit', 'setSoldOut', 'settlePreQueue', 'stats', 'endSession', 'lines', 'ping'] as const) {
      const original = store[op] as (...args: unknown[]) => Promise<unknown>
      const ok = { store: store.kind, op, outcome: 'ok' }
      const failed = { store: store.kind, op, outcome: 'error' }
      timed[op] = async (...args: unknown[]) => {
        const started = performance.now()
        try {
          const result = await original.apply(store, args)
          storeLatency.observe(ok, (performance.now() - started) / 1000)
          return result
        } catch (error) {
          storeLatency.observe(failed, (performance.now() - started) / 1000)
          throw error
        }
      }
    }
    return timed as unknown as WaitingRoomStore
  }

  return {
    registry,
    /** Stops the runtime samplers (the event-loop lag timer). */
    stop: runtime.stop,
    http,
    problems,
    admitted,
    tickAdmitted,
    holdsMade,
    holdsLapsed,
    payments,
    paymentsWon,
    jobRuns,
    jobDuration,
    jobLastRun,
    watchLines,
    timedStore,
  }
}

export type Metrics = ReturnType<typeof createMetrics>
