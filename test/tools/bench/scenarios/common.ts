import type { Sql } from '../../../../src/db/client'
import type { LineLimits, Ticket, WaitingRoomStore } from '../../../../src/waiting-room/store'
import type { User } from '../api'
import { EXHAUSTED, merge, percentile, runLoad, type LoadResult, type Operation } from '../driver'
import { describeFailure, encodeRequest, HttpConnection, type HttpRequest, type HttpResponse } from '../http-client'
import type { HttpCeiling } from '../ceilings'
import type { ProfileWindows } from '../profile-report'
import { cpuUs, postgresCpuUs, rssMb as rssOf, sampleRss } from '../processes'
import { mergeWrk, runWrk, WRK, type WrkPlan, type WrkResult } from '../wrk'

export type StoreKind = 'postgres' | 'redis-tcp' | 'redis-rest'

export interface Settings {
  concurrency: number
  warmupMs: number
  durationMs: number
  /** The window is cut into this many slices, HTTP and store alternating, so that both see the same machine. */
  rounds: number
  quick: boolean
  /** The HTTP load driver: wrk where installed (and not turned off), else the in-repo driver. */
  driver: 'wrk' | 'bun'
}

/** One measured row of the table. */
export interface Row {
  name: string
  store: StoreKind
  rps: number
  p50Ms: number
  p99Ms: number
  errors: number
  ceilingRps: number
  ratio: number
  httpCeilingRps: number
  storeCeilingRps: number
  /** Which ceiling is the lower one: what bounds the scenario on this machine. */
  bound: 'http' | 'store' | 'admission'
  /** Operations per second as a share of bare Elysia's requests per second in the same run (per request of the operation). */
  share: number
  driver: 'wrk' | 'bun'
  connections: number
  /** wrk's answers by HTTP status (wrk runs only). */
  statuses: Record<string, number> | null
  rssMb: number | null
  /** CPU time of the app process per HTTP request over the HTTP slices (the box is shared: steadier than req/s). */
  appCpuUsPerRequest?: number | null
  /** CPU time of the Postgres server per HTTP request over the HTTP slices, where it runs on this machine. */
  postgresCpuUsPerRequest?: number | null
  /** Redis commands per operation while the app was under load (server-wide INFO commandstats delta). */
  redisCallsPerOp?: number | null
  notes: string[]
  /** join on redis-tcp: req/s of the same requests on same-work-server.ts (the join's floor), or null. */
  sameWorkRps?: number | null
  /** The same-work floor's CPU time per request (join on redis-tcp with wrk), to set against appCpuUsPerRequest. */
  sameWorkCpuUsPerRequest?: number | null
  /** Per request of an operation of several (pay: hold, then pay), by name: the goal's p99 is per request. */
  steps?: Record<string, { p50Ms: number; p99Ms: number }>
}

/** What the scenarios of one store run need: the app instance, a bench-side pool and store, the limits. */
export interface Context {
  kind: StoreKind
  settings: Settings
  host: string
  port: number
  appPid: number
  /** Requests/s of the trivial route, measured at the start of the run. */
  httpCeilingRps: number
  /** Measures the trivial route again, now (a slice beside each scenario). */
  httpCeiling: HttpCeiling
  /**
   * False in embedded mode: the app's PGlite serves one connection, so nothing can be measured beside
   * the app (no store ceilings, no invariant queries), and sql/store must not be used.
   */
  direct: boolean
  /** The bench's own pool on the app's database, as large as the app's pool. */
  sql: Sql
  /** The same store the app uses (openStore with the app's configuration), called directly. */
  store: WaitingRoomStore
  limits: LineLimits
  holdTtlSeconds: number
  catalogueCacheMs: number
  tickMs: number
  maxHoldsPerUser: number
  maxBalance: number
  /** The app's profiler around the measured HTTP slices (`--profile`), else null. */
  profiler: ProfileWindows | null
  /** The run's AUTH_JWT_SECRET: the bench signs the tokens of single-use users itself (wrk runs). */
  authSecret: string
  /** The store's Redis over TCP (redis-tcp runs), else null: the join's same-work ceiling needs it. */
  redisUrl: string | null
  /** Where the run keeps its logs (and the logs of the servers it starts). */
  logDir: string
  /** Server-wide Redis command count (INFO commandstats), or null for the Postgres store. */
  redisCalls: (() => Promise<number>) | null
  log: (line: string) => void
}

/**
 * The queue token is opaque to clients; the bench decodes it only to call the store directly on the
 * very places the HTTP side uses (the store ceiling of poll, extend and check).
 */
export function ticketOf(user: User): Ticket {
  const payload = user.queueToken!.slice(0, user.queueToken!.indexOf('.'))
  const body = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { c: string; u: string; s: number }
  return { concertId: body.c, userId: body.u, seq: body.s }
}

const opened: HttpConnection[] = []

/** Raw requests for wrk, addressed to the app instance of the context. */
export function encodeFor(ctx: Context, r: HttpRequest): Buffer {
  return encodeRequest(`${ctx.host}:${ctx.port}`, r)
}

/** One keep-alive connection per worker and the check every HTTP operation makes. */
export function connection(ctx: Context) {
  const c = new HttpConnection(ctx.host, ctx.port)
  opened.push(c)
  const encode = (r: HttpRequest) => encodeRequest(`${ctx.host}:${ctx.port}`, r)
  return {
    encode,
    async call(request: Buffer | HttpRequest, expected: number[]): Promise<HttpResponse> {
      const response = Buffer.isBuffer(request) ? await c.send(request) : await c.send(encode(request))
      if (!expected.includes(response.status)) throw new Error(describeFailure(response))
      return response
    },
  }
}

/** Hands out each item once across all workers; EXHAUSTED when none is left. */
export class Dealer<T> {
  private next = 0
  constructor(private readonly items: ArrayLike<T>) {}
  take(): T | typeof EXHAUSTED {
    return this.next < this.items.length ? this.items[this.next++]! : EXHAUSTED
  }
  get used() {
    return this.next
  }
}

/** Distinct seats of the hold schedules in random order: "random seats" without two attempts on one seat. */
export function seatDealer(scheduleIds: string[], seatsPerSchedule: number) {
  const total = scheduleIds.length * seatsPerSchedule
  const order = new Int32Array(total)
  for (let i = 0; i < total; i++) order[i] = i
  for (let i = total - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    const t = order[i]!
    order[i] = order[j]!
    order[j] = t
  }
  const dealer = new Dealer(order)
  return {
    take(): { scheduleId: string; seatNumber: number } | typeof EXHAUSTED {
      const n = dealer.take()
      if (n === EXHAUSTED) return EXHAUSTED
      return { scheduleId: scheduleIds[Math.floor(n / seatsPerSchedule)]!, seatNumber: (n % seatsPerSchedule) + 1 }
    },
    get used() {
      return dealer.used
    },
    total,
  }
}

function tallyNotes(label: string, r: LoadResult): string[] {
  const notes: string[] = []
  const tally = Object.entries(r.errorTally)
  if (tally.length) notes.push(`${label} errors: ${tally.map(([k, v]) => `${v}x ${k}`).join(', ')}`)
  if (r.exhaustedAtMs !== null) notes.push(`${label} ran out of prepared data ${Math.round(r.exhaustedAtMs)} ms into the window`)
  return notes
}

export interface Spec {
  name: string
  /** HTTP requests per operation (pay = hold + pay = 2): the HTTP ceiling per operation is divided by it. */
  requestsPerOp: number
  /** Connections of the HTTP side (and workers of the store side): the run's concurrency unless said here or by wrk. */
  connections?: number
  http: (worker: number) => Operation
  /** The endpoint's own statements / store calls, issued directly, same concurrency (none for a route without them). */
  store?: (worker: number) => Operation
  notes?: () => string[]
  /** The HTTP side as prepared requests for wrk; without it the in-repo driver runs the HTTP side. */
  wrk?: WrkPlan
}

/** Single-use requests prepared per second of a wrk run: above any rate one instance reaches here. */
const WRK_OPS_PER_SECOND = 60_000

/** Whole seconds of one wrk run: wrk takes no fractions, and runs at least one. */
const wrkSecondsOf = (ms: number) => Math.max(1, Math.round(ms / 1000))

/** Seconds wrk runs in one scenario (its warm-up and every slice): what its single-use requests must cover. */
export function wrkSeconds(settings: Settings): number {
  return (settings.warmupMs > 0 ? wrkSecondsOf(settings.warmupMs) : 0) + settings.rounds * wrkSecondsOf(settings.durationMs / settings.rounds)
}

/** A later slice needs only a short ramp: connections, pools and JIT are warm by then. */
const RAMP_MS = 300
/** The trivial route's rate is steady within a second; one such slice per scenario is enough. */
const CEILING_SLICE_MS = 1000

/** Whether wrk drives the HTTP side of the scenarios that give it requests (installed, and not turned off). */
export const wrkDrives = (settings: Settings) => settings.driver === 'wrk' && WRK !== null

/**
 * Drives the HTTP side and the store ceiling of one scenario and makes its row. The window is cut into
 * `rounds` slices, HTTP and store alternating, so that noise from outside (other processes on a shared
 * box) falls on both sides of the ratio alike; the trivial route (HTTP ceiling) gets one slice among them.
 */
/**
 * CPU time (from `read`, in microseconds) summed over the slices between open() and close(); per(n): per
 * one of n requests. Null when any reading was (no /proc, or the process is gone).
 */
function cpuOverSlices(read: () => number | null) {
  let total: number | null = 0
  let before: number | null = null
  return {
    open() {
      before = read()
    },
    close() {
      const after = read()
      total = total === null || before === null || after === null ? null : total + after - before
    },
    per: (n: number) => (total !== null && n > 0 ? total / n : null),
  }
}

export async function measure(ctx: Context, spec: Spec): Promise<Row> {
  const useWrk = wrkDrives(ctx.settings) && spec.wrk !== undefined
  const connections = spec.connections ?? spec.wrk?.connections ?? ctx.settings.concurrency
  const workers = Array.from({ length: connections }, (_, i) => i)
  const httpOps = useWrk ? [] : workers.map(spec.http)
  const storeOps = ctx.direct && spec.store ? workers.map(spec.store) : []
  const wrkSlices: WrkResult[] = []
  let warmup: WrkResult | null = null
  // wrk runs whole seconds, and a warm-up of its own before the first slice (its figures are dropped).
  const wrkRun = async (ms: number) =>
    runWrk({ host: ctx.host, port: ctx.port, connections, seconds: wrkSecondsOf(ms), plan: spec.wrk!, count: Math.ceil(wrkSecondsOf(ms) * (spec.wrk!.perSecond ?? WRK_OPS_PER_SECOND)) })
  const slice = ctx.settings.durationMs / ctx.settings.rounds
  const httpSlices: LoadResult[] = []
  const storeSlices: LoadResult[] = []
  let rssMb: number | null = null
  const appCpu = cpuOverSlices(() => cpuUs(ctx.appPid))
  const postgresCpu = cpuOverSlices(postgresCpuUs)
  let redisCalls: number | null = ctx.redisCalls ? 0 : null
  let ceilingNow: LoadResult | null = null
  for (let round = 0; round < ctx.settings.rounds; round++) {
    if (round === Math.floor(ctx.settings.rounds / 2)) {
      ceilingNow = await ctx.httpCeiling.measure({ warmupMs: RAMP_MS, durationMs: Math.min(slice, CEILING_SLICE_MS) }, connections)
    }
    const timing = { warmupMs: round === 0 ? ctx.settings.warmupMs : RAMP_MS, durationMs: slice }
    if (useWrk && round === 0 && ctx.settings.warmupMs > 0) warmup = await wrkRun(ctx.settings.warmupMs)
    if (httpSlices.every((r) => r.exhaustedAtMs === null)) {
      const before = ctx.redisCalls ? await ctx.redisCalls() : null
      const stopRss = sampleRss(ctx.appPid)
      await ctx.profiler?.open()
      appCpu.open()
      postgresCpu.open()
      if (useWrk) {
        const r = await wrkRun(slice)
        wrkSlices.push(r)
        httpSlices.push(r)
      } else httpSlices.push(await runLoad(timing, httpOps))
      await ctx.profiler?.close()
      const peak = stopRss()
      appCpu.close()
      postgresCpu.close()
      if (peak !== null) rssMb = Math.max(rssMb ?? 0, peak)
      if (before !== null && redisCalls !== null) redisCalls += (await ctx.redisCalls!()) - before
    }
    if (storeOps.length && storeSlices.every((r) => r.exhaustedAtMs === null)) storeSlices.push(await runLoad(timing, storeOps))
  }
  for (const c of opened.splice(0)) c.close()
  await ctx.profiler?.report(spec.name)
  const http = useWrk ? mergeWrk(wrkSlices) : merge(httpSlices)
  const storeRun = storeOps.length ? merge(storeSlices) : null

  // A slice of bare Elysia can land on a stall of the shared box (once 577 req/s against 104,000 at the
  // start): below half the start figure it is not a ceiling, and the start figure stands in (noted).
  const sane = ceilingNow !== null && ceilingNow.errors === 0 && ceilingNow.rps >= ctx.httpCeilingRps / 2
  const bare = sane ? ceilingNow!.rps : ctx.httpCeilingRps
  const httpCeiling = bare / spec.requestsPerOp
  const storeCeiling = storeRun?.rps ?? Number.NaN
  const ceiling = storeRun ? Math.min(httpCeiling, storeCeiling) : httpCeiling
  const attempts = http.totalOps + http.totalErrors
  const steps = Object.entries(http.steps).map(([name, ms]) => [name, { p50Ms: percentile(ms, 50), p99Ms: percentile(ms, 99) }] as const)
  const row: Row = {
    name: spec.name,
    store: ctx.kind,
    rps: http.rps,
    p50Ms: http.p50Ms,
    p99Ms: http.p99Ms,
    errors: http.errors,
    ceilingRps: ceiling,
    ratio: ceiling > 0 ? http.rps / ceiling : Number.NaN,
    httpCeilingRps: httpCeiling,
    storeCeilingRps: storeCeiling,
    bound: storeCeiling < httpCeiling ? 'store' : 'http',
    share: bare > 0 ? (http.rps * spec.requestsPerOp) / bare : Number.NaN,
    driver: useWrk ? 'wrk' : 'bun',
    connections,
    // Every answer wrk got, the warm-up's too (the hot seat is usually won there).
    statuses: useWrk ? mergeWrk([...(warmup ? [warmup] : []), ...wrkSlices]).statuses : null,
    rssMb,
    appCpuUsPerRequest: appCpu.per(attempts * spec.requestsPerOp),
    postgresCpuUsPerRequest: postgresCpu.per(attempts * spec.requestsPerOp),
    redisCallsPerOp: redisCalls !== null && attempts > 0 ? redisCalls / attempts : null,
    ...(steps.length ? { steps: Object.fromEntries(steps) } : {}),
    notes: [
      ...steps.map(([name, s]) => `per request, ${name}: p50 ${s.p50Ms.toFixed(1)} ms, p99 ${s.p99Ms.toFixed(1)} ms`),
      ...tallyNotes('http', http),
      ...(ceilingNow && !sane ? [`bare Elysia beside this scenario did ${Math.round(ceilingNow.rps)} req/s: the figure at the start stands in`] : []),
      ...(useWrk && spec.wrk!.singleUse && wrkSlices.some((r) => r.wrapped > 0) ? ['wrk ran out of single-use requests and sent some twice'] : []),
      ...(storeRun ? tallyNotes('store ceiling', storeRun) : [spec.store ? 'store ceiling not measured (embedded mode)' : 'no store calls to measure directly']),
      ...(storeRun && storeRun.errors > 0 ? ['the store ceiling had errors: its rate is not a clean bound'] : []),
      ...(spec.notes?.() ?? []),
    ],
  }
  ctx.log(
    `  ${spec.name.padEnd(13)} ${ctx.kind.padEnd(10)} ${Math.round(row.rps)} op/s (p50 ${row.p50Ms.toFixed(1)} ms, p99 ${row.p99Ms.toFixed(1)} ms, ${row.errors} errors)` +
      (storeRun ? ` | store ceiling ${Math.round(storeRun.rps)} op/s, p99 ${storeRun.p99Ms.toFixed(1)} ms` : '') +
      ` | HTTP ceiling ${Math.round(httpCeiling)} op/s` +
      ` | ratio ${row.ratio.toFixed(2)} | share of bare Elysia ${row.share.toFixed(3)} (${row.driver}, ${connections} connections)`,
  )
  // The sampled peak can miss a spike between samples; VmHWM cannot (it covers the seeding too).
  const sinceStart = rssOf(ctx.appPid, 'VmHWM')
  if (sinceStart !== null) row.notes.push(`app peak RSS since it started (VmHWM): ${sinceStart.toFixed(0)} MB`)
  if (row.appCpuUsPerRequest != null) {
    const postgres = row.postgresCpuUsPerRequest != null ? `, Postgres CPU ${row.postgresCpuUsPerRequest.toFixed(0)} µs` : ''
    ctx.log(`      app CPU ${row.appCpuUsPerRequest.toFixed(0)} µs per request${postgres}, peak RSS ${row.rssMb?.toFixed(0)} MB (sampled)`)
  }
  for (const note of row.notes) ctx.log(`      ${note}`)
  return row
}
