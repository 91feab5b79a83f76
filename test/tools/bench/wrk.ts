import { createHmac } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { LoadResult } from './driver'

// wrk (C, epoll) as the HTTP load driver where it is installed: it leaves the two cores to the app, where
// the in-repo driver (driver.ts) costs the app a share of them. wrk sends prepared raw requests
// (wrk/requests.lua) and reports the statuses it saw; the in-repo driver stays for what wrk cannot do
// (hold + pay, whose second request needs the first answer) and for machines without wrk.

export const WRK = Bun.which('wrk')
const SCRIPT = join(import.meta.dir, 'wrk', 'requests.lua')
const THREADS = 2

/** What a scenario gives wrk: raw requests (cycled per thread) and the statuses that count as success. */
export interface WrkPlan {
  expected: number[]
  /** Requests for about `count` operations; a plan of single-use requests makes `count` fresh ones. */
  requests(count: number): Buffer[]
  /** Each request may be sent once (a new user joining, a distinct seat): a repeat is reported. */
  singleUse?: boolean
  /** Single-use requests to prepare per second of a run (an upper bound of the rate), when not the default. */
  perSecond?: number
  /** Connections for this scenario, when not the run's default. */
  connections?: number
}

export interface WrkResult extends LoadResult {
  statuses: Record<string, number>
  /** Times a thread started over at the start of its share (single-use requests were sent twice). */
  wrapped: number
}

/** One wrk run of whole seconds; the latencies are wrk's (p50, p99, max), not a pooled array. */
export async function runWrk(o: { host: string; port: number; connections: number; seconds: number; plan: WrkPlan; count: number }): Promise<WrkResult> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-wrk-'))
  try {
    const file = join(dir, 'requests.bin')
    let requests = o.plan.requests(o.count)
    if (requests.length === 0) return exhausted()
    // Thread t sends requests t, t + THREADS, ...: a list shorter than that is repeated (one route, one
    // request). Each thread gets a file of its own share, so that no thread reads (and keeps) the others':
    // read whole by every thread, a 60 s hold row's 360,000 requests took wrk 880 MB while it loaded.
    while (requests.length < THREADS) requests = [...requests, ...requests]
    const nul = Buffer.from([0])
    for (let t = 0; t < THREADS; t++) {
      writeFileSync(`${file}.${t}`, Buffer.concat(requests.filter((_, i) => i % THREADS === t).flatMap((r) => [r, nul])))
    }
    const connections = Math.max(THREADS, o.connections)
    // Only 200 expected: wrk's count of answers >= 400 tells the errors without a Lua call per answer.
    const tally = !(o.plan.expected.length === 1 && o.plan.expected[0] === 200)
    const proc = Bun.spawn(
      [WRK!, `-t${THREADS}`, `-c${connections}`, `-d${Math.max(1, Math.round(o.seconds))}s`, '--timeout', '10s', '-s', SCRIPT, `http://${o.host}:${o.port}/`, '--', file],
      { stdout: 'pipe', stderr: 'pipe', env: { ...process.env, WRK_STATUSES: tally ? '1' : '0' } },
    )
    const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()])
    await proc.exited
    const line = out.split('\n').find((l) => l.startsWith('WRK_RESULT '))
    if (!line) throw new Error(`wrk gave no result (exit ${proc.exitCode}): ${err.trim() || out.trim()}`)
    const r = JSON.parse(line.slice('WRK_RESULT '.length)) as {
      requests: number
      durationUs: number
      p50Us: number
      p99Us: number
      maxUs: number
      socketErrors: number
      statusErrors: number
      wrapped: number
      statuses: Record<string, number>
    }
    if (!tally) r.statuses = { '200': r.requests - r.statusErrors, ...(r.statusErrors ? { '>=400': r.statusErrors } : {}) }
    let ok = 0
    const errorTally: Record<string, number> = {}
    for (const [status, n] of Object.entries(r.statuses)) {
      if (o.plan.expected.includes(Number(status))) ok += n
      else errorTally[`HTTP ${status}`] = n
    }
    if (r.socketErrors) errorTally['socket errors (connect, read, write, timeout)'] = r.socketErrors
    const errors = r.requests - ok + r.socketErrors
    const elapsedMs = r.durationUs / 1000
    return {
      ops: ok,
      totalOps: ok,
      errors,
      totalErrors: errors,
      elapsedMs,
      rps: elapsedMs > 0 ? (ok / elapsedMs) * 1000 : 0,
      p50Ms: r.p50Us / 1000,
      p95Ms: Number.NaN,
      p99Ms: r.p99Us / 1000,
      maxMs: r.maxUs / 1000,
      errorTally,
      exhaustedAtMs: null,
      latencies: new Float64Array(0),
    steps: {},
      statuses: r.statuses,
      wrapped: r.wrapped,
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** A run that could not start: the scenario's single-use requests are used up. */
function exhausted(): WrkResult {
  return {
    ops: 0,
    totalOps: 0,
    errors: 0,
    totalErrors: 0,
    elapsedMs: 0,
    rps: 0,
    p50Ms: Number.NaN,
    p95Ms: Number.NaN,
    p99Ms: Number.NaN,
    maxMs: Number.NaN,
    errorTally: {},
    exhaustedAtMs: 0,
    latencies: new Float64Array(0),
    steps: {},
    statuses: {},
    wrapped: 0,
  }
}

/** Slices of one scenario as one result: rates add up over time; p50 weighted by operations, p99 the worst slice's. */
export function mergeWrk(results: WrkResult[]): WrkResult {
  const sum = (pick: (r: WrkResult) => number) => results.reduce((n, r) => n + pick(r), 0)
  const ops = sum((r) => r.ops)
  const elapsedMs = sum((r) => r.elapsedMs)
  const errorTally: Record<string, number> = {}
  const statuses: Record<string, number> = {}
  for (const r of results) {
    for (const [k, v] of Object.entries(r.errorTally)) errorTally[k] = (errorTally[k] ?? 0) + v
    for (const [k, v] of Object.entries(r.statuses)) statuses[k] = (statuses[k] ?? 0) + v
  }
  return {
    ops,
    totalOps: ops,
    errors: sum((r) => r.errors),
    totalErrors: sum((r) => r.errors),
    elapsedMs,
    rps: elapsedMs > 0 ? (ops / elapsedMs) * 1000 : 0,
    p50Ms: ops > 0 ? sum((r) => r.p50Ms * r.ops) / ops : Number.NaN,
    p95Ms: Number.NaN,
    p99Ms: Math.max(...results.filter((r) => r.ops > 0).map((r) => r.p99Ms)),
    maxMs: Math.max(...results.filter((r) => r.ops > 0).map((r) => r.maxMs)),
    errorTally,
    exhaustedAtMs: results.some((r) => r.exhaustedAtMs !== null) ? elapsedMs : null,
    latencies: new Float64Array(0),
    steps: {},
    statuses,
    wrapped: sum((r) => r.wrapped),
  }
}

/**
 * A user token (HS256 JWT, `sub` = the user id) signed by the bench with the run's AUTH_JWT_SECRET: the
 * single-use users of a wrk run number in the hundreds of thousands, too many to fetch one by one.
 */
export function signUserToken(secret: string, userId: string): string {
  const header = Buffer.from('{"alg":"HS256","typ":"JWT"}').toString('base64url')
  const payload = Buffer.from(JSON.stringify({ sub: userId, exp: Math.floor(Date.now() / 1000) + 3600 })).toString('base64url')
  const signature = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url')
  return `${header}.${payload}.${signature}`
}
