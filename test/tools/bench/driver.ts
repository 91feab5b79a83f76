// The load driver: a fixed number of workers, each running one operation after another (closed loop, no
// think time). A warm-up, then a measured window: an operation counts if it completes inside the window,
// and its latency is recorded. An operation that throws is an error (its message is tallied). The same
// driver runs HTTP operations and direct store operations, so both sides of a ratio are measured alike.

export const EXHAUSTED = 'exhausted' as const
/**
 * An operation resolves normally, or with EXHAUSTED when its scenario ran out of prepared data. An
 * operation of several requests may time each one with `step` (its latencies are kept by name, as the
 * operation's are: only for operations that complete inside the window).
 */
export type Operation = (step: Step) => Promise<void | typeof EXHAUSTED>
export type Step = <T>(name: string, request: Promise<T>) => Promise<T>

export interface LoadOptions {
  warmupMs: number
  durationMs: number
}

export interface LoadResult {
  /** Operations completed inside the measured window. */
  ops: number
  /** Operations completed at any time (warm-up included): the denominator for per-request counters. */
  totalOps: number
  errors: number
  totalErrors: number
  elapsedMs: number
  rps: number
  p50Ms: number
  p95Ms: number
  p99Ms: number
  maxMs: number
  errorTally: Record<string, number>
  /** The scenario ran out of prepared users or seats before the window ended (ms into the window). */
  exhaustedAtMs: number | null
  /** Latencies of the operations counted in `ops`, sorted. */
  latencies: Float64Array
  /** Latencies of the named requests of those operations (Step), sorted. */
  steps: Record<string, Float64Array>
}

/** An error's message with its first cause (the store's 503 Problem wraps what Redis or fetch said). */
function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  const cause = error.cause instanceof Error ? error.cause.message : error.cause === undefined ? '' : String(error.cause)
  return cause ? `${error.message} (${cause.slice(0, 160)})` : error.message
}

export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[index]!
}

/** Runs the operations (one worker each, so their number is the concurrency) for a warm-up and a window. */
export async function runLoad(options: LoadOptions, operations: Operation[]): Promise<LoadResult> {
  const latencies: number[] = []
  const steps: Record<string, number[]> = {}
  const errorTally: Record<string, number> = {}
  let ops = 0
  let totalOps = 0
  let errors = 0
  let totalErrors = 0
  let exhaustedAt: number | null = null

  const startedAt = performance.now()
  const windowStart = startedAt + options.warmupMs
  const windowEnd = windowStart + options.durationMs

  async function worker(operation: Operation) {
    const timed: [string, number][] = []
    const step: Step = async (name, request) => {
      const t = performance.now()
      const answer = await request
      timed.push([name, performance.now() - t])
      return answer
    }
    for (;;) {
      const t0 = performance.now()
      if (t0 >= windowEnd || exhaustedAt !== null) return
      let failure: string | null = null
      let outcome: void | typeof EXHAUSTED = undefined
      timed.length = 0
      try {
        outcome = await operation(step)
      } catch (error) {
        failure = describeError(error)
      }
      const t1 = performance.now()
      if (outcome === EXHAUSTED) {
        exhaustedAt ??= t1
        return
      }
      const inWindow = t1 >= windowStart && t1 <= windowEnd
      if (failure !== null) {
        totalErrors++
        if (inWindow) errors++
        errorTally[failure] = (errorTally[failure] ?? 0) + 1
        continue
      }
      totalOps++
      if (inWindow) {
        ops++
        latencies.push(t1 - t0)
        for (const [name, ms] of timed) (steps[name] ??= []).push(ms)
      }
    }
  }

  await Promise.all(operations.map(worker))

  const measuredEnd = exhaustedAt === null ? windowEnd : Math.min(windowEnd, exhaustedAt)
  const elapsedMs = Math.max(0, measuredEnd - windowStart)
  const sorted = Float64Array.from(latencies).sort()
  const sortedSteps = Object.fromEntries(Object.entries(steps).map(([name, ms]) => [name, Float64Array.from(ms).sort()]))
  return summarize({
    ops,
    totalOps,
    errors,
    totalErrors,
    elapsedMs,
    errorTally,
    exhaustedAtMs: exhaustedAt === null ? null : Math.max(0, exhaustedAt - windowStart),
    latencies: sorted,
    steps: sortedSteps,
  })
}

type Counts = Pick<LoadResult, 'ops' | 'totalOps' | 'errors' | 'totalErrors' | 'elapsedMs' | 'errorTally' | 'exhaustedAtMs' | 'latencies' | 'steps'>

function summarize(c: Counts): LoadResult {
  const sorted = c.latencies
  return {
    ...c,
    rps: c.elapsedMs > 0 ? (c.ops / c.elapsedMs) * 1000 : 0,
    p50Ms: percentile(sorted, 50),
    p95Ms: percentile(sorted, 95),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted.length ? sorted[sorted.length - 1]! : Number.NaN,
  }
}

/** One result from the slices of an interleaved measurement (windows add up; latencies pool). */
export function merge(results: LoadResult[]): LoadResult {
  const errorTally: Record<string, number> = {}
  for (const r of results) for (const [k, v] of Object.entries(r.errorTally)) errorTally[k] = (errorTally[k] ?? 0) + v
  let elapsed = 0
  let exhaustedAtMs: number | null = null
  for (const r of results) {
    if (r.exhaustedAtMs !== null && exhaustedAtMs === null) exhaustedAtMs = elapsed + r.exhaustedAtMs
    elapsed += r.elapsedMs
  }
  const pooled = (arrays: Float64Array[]) => {
    const all = new Float64Array(arrays.reduce((n, a) => n + a.length, 0))
    let at = 0
    for (const a of arrays) {
      all.set(a, at)
      at += a.length
    }
    return all.sort()
  }
  const names = new Set(results.flatMap((r) => Object.keys(r.steps)))
  return summarize({
    ops: results.reduce((n, r) => n + r.ops, 0),
    totalOps: results.reduce((n, r) => n + r.totalOps, 0),
    errors: results.reduce((n, r) => n + r.errors, 0),
    totalErrors: results.reduce((n, r) => n + r.totalErrors, 0),
    elapsedMs: elapsed,
    errorTally,
    exhaustedAtMs,
    latencies: pooled(results.map((r) => r.latencies)),
    steps: Object.fromEntries([...names].map((name) => [name, pooled(results.flatMap((r) => r.steps[name] ?? []))])),
  })
}

/** Runs `fn` over `items` with at most `limit` in flight; results in input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length)
  let next = 0
  async function lane() {
    while (next < items.length) {
      const i = next++
      results[i] = await fn(items[i]!, i)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane))
  return results
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
