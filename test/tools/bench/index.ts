import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../../../src/config'
import { connect, type Sql } from '../../../src/db/client'
import type { WaitingRoomStore } from '../../../src/waiting-room/store'
import { openStore } from '../../../src/waiting-room/stores'
import { Api } from './api'
import { startHttpCeiling, type HttpCeiling } from './ceilings'
import { checkInvariants, createBenchDatabase, dropAllBenchDatabases, violations, type BenchDatabase, type Invariants } from './database'
import { HttpPool } from './http-client'
import { machineInfo, machineLine } from './machine'
import { parseOptions, QUEUE_SCENARIOS, USAGE, type Options, type ScenarioName } from './options'
import { freePort } from '../../support/ports'
import { httpReady, repoRoot, spawnChild, type Child } from './processes'
import { ceilingsTable, jsonReport, postgresBoundTable, resultsTable, storeComparison, type StoreSummary } from './report'
import { postgresCeilings, redisCeilings, type IndependentCeiling } from './independent'
import { countRoundTrips, type RoundTrips } from './roundtrips'
import { profileWindows } from './profile-report'
import * as booking from './scenarios/booking'
import type { Context, Row, Settings, StoreKind } from './scenarios/common'
import * as queue from './scenarios/queue'
import { sellout } from './scenarios/sellout'
import { availableStores, cleanEnv, startStore, type StoreRuntime } from './stores'

// bun run bench: see options.ts for the flags and TARGETS.md for what is measured and why.

const t0 = performance.now()
const KEEP_RUNS = 5
const log = (line: string) => console.error(`[${((performance.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${line}`)

// One user-token secret and admin key for every instance of the run (see the dev token cache in api.ts).
const secrets = { authSecret: `bench-${crypto.randomUUID()}`, adminKey: `bench-${crypto.randomUUID()}` }

interface StoreRun {
  kind: StoreKind
  runtime: StoreRuntime
  db: BenchDatabase | null
  authSecret: string
  adminKey: string
}

/** Starts one app instance with `env`, opens the bench's side (pool, store, client), runs `work`, stops it. */
async function withInstance(
  run: StoreRun,
  name: string,
  env: Record<string, string>,
  o: Options,
  settings: Settings,
  httpCeilingRps: number,
  httpCeiling: HttpCeiling,
  logDir: string,
  work: (ctx: Context, api: Api) => Promise<void>,
) {
  const port = freePort()
  const appEnv = { ...env, PORT: String(port) }
  const config = loadConfig(appEnv)
  log(`${run.kind}: starting the ${name} instance (queue store ${config.queueStore}, admit ${config.queue.admitPerSecond}/s, max active ${config.queue.maxActive})`)
  const profiles = join(logDir, 'profiles', `${run.kind}-${name}`)
  if (o.profile) mkdirSync(profiles, { recursive: true })
  const app: Child = await spawnChild({
    name: `app-${run.kind}-${name}`,
    argv: ['bun', ...(o.profile ? ['--preload', join(import.meta.dir, 'profile-window.ts')] : []), join(repoRoot, 'src', 'index.ts')],
    env: o.profile ? { ...appEnv, BENCH_PROFILE_DIR: profiles } : appEnv,
    port,
    logDir,
    ready: () => httpReady(port, '/ready'),
    timeoutMs: 60_000,
  })
  let sql: Sql | null = null
  let store: WaitingRoomStore | null = null
  const pool = new HttpPool('127.0.0.1', port, o.connections)
  const api = new Api(pool, run.adminKey)
  try {
    if (run.db) {
      sql = connect(run.db.url, { max: config.dbPoolSize, applicationName: 'bench-direct' })
      store = await openStore(config, sql)
    }
    const ctx: Context = {
      kind: run.kind,
      settings,
      host: '127.0.0.1',
      port,
      appPid: app.pid,
      httpCeilingRps,
      httpCeiling,
      direct: sql !== null,
      sql: sql as Sql,
      store: store as WaitingRoomStore,
      limits: config.queue,
      holdTtlSeconds: config.holdTtlSeconds,
      catalogueCacheMs: config.catalogueCacheMs,
      tickMs: config.queue.tickMs,
      maxHoldsPerUser: config.maxHoldsPerUser,
      maxBalance: config.maxBalance,
      authSecret: run.authSecret,
      redisUrl: run.kind === 'redis-tcp' ? (run.runtime.appEnv.REDIS_URL ?? null) : null,
      logDir,
      redisCalls: run.runtime.scriptCalls,
      profiler: o.profile ? profileWindows(app.pid, profiles, run.kind) : null,
      log,
    }
    await work(ctx, api)
  } finally {
    pool.close()
    await app.stop()
    if (store && run.kind !== 'postgres') await store.close()
    await sql?.end({ timeout: 2 })
    await run.runtime.forget(api.concerts).catch((error) => log(`  could not remove the bench's Redis keys: ${error}`))
  }
}

async function runStore(
  kind: StoreKind,
  withBooking: boolean,
  o: Options,
  settings: Settings,
  httpCeilingRps: number,
  httpCeiling: HttpCeiling,
  logDir: string,
  rows: Row[],
): Promise<StoreSummary> {
  const wanted = (n: ScenarioName) => o.scenarios.includes(n)
  const db = process.env.DATABASE_URL ? await createBenchDatabase(process.env.DATABASE_URL, kind) : null
  const runtime = await startStore(kind, { redisUrl: process.env.REDIS_URL ?? null, redisDb: o.redisDb, logDir })
  const run: StoreRun = { kind, runtime, db, ...secrets }
  const baseEnv: Record<string, string> = {
    ...cleanEnv(),
    ...runtime.appEnv,
    ...(db ? { DATABASE_URL: db.url } : { DATA_DIR: join(logDir, `embedded-${kind}`) }),
    AUTH_JWT_SECRET: run.authSecret,
    AUTH_DEV_TOKENS: 'true',
    ADMIN_API_KEY: run.adminKey,
    SEED_DEMO: 'false',
    NODE_ENV: 'development',
    // As in the side-by-side table (TARGETS.md): request logging on, the per-user rate limit off.
    RATE_LIMIT_PER_SECOND: '0',
  }
  let roundTrips: RoundTrips | null = null
  let invariants: Invariants | null = null
  const before = rows.length
  try {
    const bookingScenarios = o.scenarios.filter((n) => !QUEUE_SCENARIOS.includes(n))
    if (withBooking && bookingScenarios.length) {
      // Everyone is admitted at once here: these scenarios measure the booking path of ACTIVE users.
      const env = { ...baseEnv, QUEUE_MAX_ACTIVE: '1000000', QUEUE_ADMIT_PER_SECOND: '100000' }
      await withInstance(run, 'booking', env, o, settings, httpCeilingRps, httpCeiling, logDir, async (ctx, api) => {
        const setup = await booking.prepareBooking(ctx, api)
        if (wanted('health')) rows.push(await booking.health(ctx))
        const seats50 = wanted('seats-50') ? await booking.seats(ctx, setup, 'seats-50') : undefined
        if (seats50) rows.push(seats50)
        if (wanted('seats-10000')) rows.push(await booking.seats(ctx, setup, 'seats-10000'))
        if (wanted('seats-50000')) rows.push(await booking.seats(ctx, setup, 'seats-50000'))
        if (wanted('seats-100000')) rows.push(await booking.bigMap(ctx, setup, 'seats-100000'))
        if (wanted('seat-map-100000')) rows.push(await booking.bigMap(ctx, setup, 'seat-map-100000'))
        if (wanted('seats-100000-304')) rows.push(await booking.bigMap(ctx, setup, 'seats-100000-304', seats50))
        if (wanted('charge')) rows.push(await booking.charge(ctx, setup))
        if (wanted('hold-hot')) rows.push(await booking.holdHot(ctx, setup))
        if (wanted('hold') || wanted('pay')) {
          const holdRow = await booking.hold(ctx, setup)
          if (wanted('hold')) rows.push(holdRow)
          if (wanted('pay')) rows.push(await booking.pay(ctx, api, setup, holdRow))
        }
        if (wanted('maps-changing')) rows.push(await booking.mapsChanging(ctx, api, setup))
      })
    }
    if (o.scenarios.some((n) => QUEUE_SCENARIOS.includes(n))) {
      // The queue limits as configured (the service's defaults unless QUEUE_* says otherwise).
      await withInstance(run, 'queue', baseEnv, o, settings, httpCeilingRps, httpCeiling, logDir, async (ctx, api) => {
        if (wanted('join') || wanted('poll')) {
          const setup = await queue.prepareQueue(ctx, api)
          rows.push(await queue.join(ctx, setup))
          if (wanted('poll')) rows.push(await queue.poll(ctx, api, setup))
          if (ctx.direct) {
            roundTrips = await countRoundTrips({
              config: loadConfig(baseEnv),
              waiting: setup.joined,
              active: setup.joined.slice(0, 50),
              concertId: setup.httpConcert,
            })
            log(`  round trips to the queue store: ${JSON.stringify(roundTrips)}`)
          }
        }
        if (wanted('poll-crowd')) rows.push(await queue.pollCrowd(ctx, api))
        if (wanted('sellout')) rows.push(await sellout(ctx, api, { seats: o.selloutSeats, users: o.selloutSeats * 2 }))
      })
    }
    // Only an instance migrates the database: a store that ran no scenario here (--booking-on first) has no tables.
    if (db && rows.length > before) {
      const sql = connect(db.url, { max: 1 })
      try {
        invariants = await checkInvariants(sql)
      } finally {
        await sql.end({ timeout: 2 })
      }
      log(`${kind}: invariants ${violations(invariants) === 0 ? 'hold' : 'VIOLATED'}: ${JSON.stringify(invariants)}`)
    }
  } finally {
    await runtime.stop()
    await db?.drop()
    if (!db) rmSync(baseEnv.DATA_DIR!, { recursive: true, force: true })
  }
  const mine = rows.slice(before).map((r) => r.rssMb ?? 0)
  return {
    store: kind,
    roundTrips,
    invariants,
    violations: invariants ? violations(invariants) : null,
    peakRssMb: mine.length ? Math.max(...mine) : null,
  }
}

/** The commit measured, with `-dirty` when the work tree had changes: a result file names its code. */
let commit: string | null = null
function gitCommit(): string {
  commit ??= readCommit()
  return commit
}
function readCommit(): string {
  const head = Bun.spawnSync(['git', 'rev-parse', 'HEAD'], { cwd: repoRoot }).stdout.toString().trim() || 'unknown'
  const dirty = Bun.spawnSync(['git', 'status', '--porcelain', '--untracked-files=no'], { cwd: repoRoot }).stdout.toString().trim() !== ''
  return dirty ? `${head}-dirty` : head
}

async function measureIndependentCeilings(o: Options, databaseUrl: string | null, redisUrl: string | null): Promise<IndependentCeiling[]> {
  const out: IndependentCeiling[] = []
  if (redisUrl && o.stores.some((s) => s !== 'postgres')) out.push(...(await redisCeilings(redisUrl, o.redisDb, o.quick ? 100_000 : 400_000)))
  if (databaseUrl) {
    const db = await createBenchDatabase(databaseUrl, 'ceilings')
    try {
      out.push(...(await postgresCeilings(db.url, o.quick ? 2 : 5)))
    } finally {
      await db.drop()
    }
  }
  return out
}

function independentTable(ceilings: IndependentCeiling[]): string {
  if (ceilings.length === 0) return '(none measured)'
  return [
    '| tool | what | clients | op/s |',
    '|---|---|---:|---:|',
    ...ceilings.map((c) => `| ${c.tool} | ${c.what} | ${c.clients} | ${c.opsPerSecond === null ? `failed: ${c.error}` : Math.round(c.opsPerSecond).toLocaleString('en-US')} |`),
  ].join('\n')
}

async function main() {
  let o: Options | null
  try {
    o = parseOptions(process.argv.slice(2))
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : error}\n\n${USAGE}`)
    process.exit(2)
  }
  if (!o) {
    console.log(USAGE)
    return
  }
  const databaseUrl = process.env.DATABASE_URL?.trim() || null
  if (!databaseUrl && !o.embedded) {
    console.error(
      'DATABASE_URL is not set: the bench measures a Postgres server, not embedded mode (PGlite, one connection).\n' +
        'Set DATABASE_URL (the bench creates and drops its own database there), or pass --embedded to measure\n' +
        'embedded mode anyway (HTTP side only, labelled as such).',
    )
    process.exit(2)
  }
  const runDir = join(repoRoot, '.bench', `run-${new Date().toISOString().replace(/[:.]/g, '-')}`)
  mkdirSync(runDir, { recursive: true })
  // Each run keeps its app logs (one line per request by default) and report; the last few runs are enough.
  const runs = readdirSync(join(repoRoot, '.bench')).filter((d) => d.startsWith('run-')).sort()
  for (const old of runs.slice(0, -KEEP_RUNS)) rmSync(join(repoRoot, '.bench', old), { recursive: true, force: true })
  const redisUrl = process.env.REDIS_URL?.trim() || null
  const machine = await machineInfo({ databaseUrl, redisUrl })
  log(`machine: ${machineLine(machine)}; commit ${gitCommit()}; HTTP driver ${o.driver}`)
  log(`logs of the child processes: ${runDir}`)

  const { run: stores, skipped } = await availableStores(databaseUrl ? o.stores : ['postgres'], redisUrl)
  for (const s of skipped) log(`store ${s.kind} skipped: ${s.reason}`)
  if (stores.length === 0) throw new Error('no store to measure')

  const settings: Settings = { concurrency: o.connections, warmupMs: o.warmupMs, durationMs: o.durationMs, rounds: o.rounds, quick: o.quick, driver: o.driver }
  const httpCeiling = await startHttpCeiling(o.connections, runDir, o.driver)
  const rows: Row[] = []
  const summaries: StoreSummary[] = []
  let independent: IndependentCeiling[] = []
  let ceiling
  try {
    // A reference for the log and the sellout row; every scenario measures the ceiling again beside it.
    ceiling = await httpCeiling.measure({ warmupMs: o.warmupMs, durationMs: Math.min(o.durationMs, 2000) })
    log(`HTTP ceiling (bare Elysia GET / on Bun, ${o.driver}, ${o.connections} connections): ${Math.round(ceiling.rps)} req/s, p50 ${ceiling.p50Ms.toFixed(2)} ms, p99 ${ceiling.p99Ms.toFixed(2)} ms, ${ceiling.errors} errors`)
    independent = await measureIndependentCeilings(o, databaseUrl, redisUrl)
    for (const c of independent) log(`  ${c.tool}: ${c.what}: ${c.opsPerSecond === null ? c.error : `${Math.round(c.opsPerSecond)} op/s`} (${c.clients} clients)`)
    for (const [i, kind] of stores.entries()) {
      summaries.push(await runStore(kind, o.bookingOn === 'all' || i === 0, o, settings, ceiling.rps, httpCeiling, runDir, rows))
    }
  } finally {
    await httpCeiling.stop()
  }

  const label = machine.embedded ? ' (EMBEDDED MODE)' : ''
  const out = [
    '',
    `## Results${label}`,
    machineLine(machine),
    `commit ${gitCommit()}; HTTP driver ${o.driver}; bare Elysia at the start: ${Math.round(ceiling.rps)} req/s (p99 ${ceiling.p99Ms.toFixed(2)} ms), measured again beside each scenario; ${o.connections} connections; warm-up ${o.warmupMs / 1000} s, window ${o.durationMs / 1000} s per side in ${o.rounds} alternating slices`,
    '',
    resultsTable(rows),
    '',
    `commit ${gitCommit()}. share = req/s x requests per operation / bare Elysia's req/s measured beside the scenario (same driver and connections);` +
      ' goal = the share of the side-by-side table (TARGETS.md). direct op/s = the same service functions and store calls without HTTP (our code: informational, not a ceiling). sellout: req/s = seats sold per second.',
    '',
    '## HTTP ceilings and direct calls per scenario',
    ceilingsTable(rows),
    '',
    '## Ceilings independent of our code (once per run)',
    independentTable(independent),
    '',
    "## Postgres-bound rows against this box's Postgres (informational)",
    postgresBoundTable(rows, independent),
    '',
    '## Store comparison (Redis suitability check)',
    storeComparison(rows, summaries),
    ...skipped.map((s) => `(${s.kind} not measured: ${s.reason})`),
    '',
    '## Notes',
    ...rows.flatMap((r) => r.notes.map((n) => `- ${r.name} / ${r.store}: ${n}`)),
    ...summaries.map((s) => `- ${s.store}: round trips counted by ${s.roundTrips?.method ?? 'not measured'}`),
    '',
    `bench took ${Math.round((performance.now() - t0) / 1000)} s; 1-minute load average at the end ${loadavg()[0]!.toFixed(2)}`,
  ]
  console.log(out.join('\n'))
  const settingsOut = { connections: o.connections, warmupMs: o.warmupMs, durationMs: o.durationMs, rounds: o.rounds, quick: o.quick, httpCeilingRps: ceiling.rps }
  const json = `${JSON.stringify(jsonReport(machine, rows, summaries, settingsOut, independent, { commit: gitCommit() }), null, 2)}\n`
  // Every run keeps its report beside the logs of its child processes.
  writeFileSync(join(runDir, 'report.md'), `${out.join('\n')}\n`)
  writeFileSync(join(runDir, 'results.json'), json)
  if (o.out) writeFileSync(o.out, json)
  log(`wrote ${join(runDir, 'report.md')}${o.out ? ` and ${o.out}` : ''}`)
  if (summaries.some((s) => (s.violations ?? 0) > 0)) process.exitCode = 1
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, async () => {
    log(`${signal}: dropping the bench databases`)
    await dropAllBenchDatabases()
    process.exit(130)
  })
}

try {
  await main()
  // Nothing of the bench may keep the process alive once the report is out.
  process.exit(process.exitCode ?? 0)
} catch (error) {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error)
  await dropAllBenchDatabases()
  process.exit(1)
}
