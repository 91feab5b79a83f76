// `bun run reliability`: runs the reliability checks (bun test test/reliability) against the configured
// Postgres and Redis, then prints one table of the checks with their figures and pass/fail, read from the
// results file the checks write. Exits non-zero if the test run failed or a check is missing or failed.
// `bun run reliability:soak` does the same with a long conservation soak (RELIABILITY_SOAK_SECONDS=600).
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { RESULTS_FILE, type Result } from './support/results'

const CHECKS: [string, string][] = [
  ['1', 'one seat, 1,000 holds over 3 instances'],
  ['2', '10,000 users, 500 seats'],
  ['3', 'pay at the hold expiry ±50 ms'],
  ['4', 'double spend'],
  ['5', 'conservation soak'],
  ['6', 'idempotent replay'],
  ['7', 'idempotent race'],
  ['8', 'idempotency key misuse'],
  ['9', 'kill -9 during payments'],
  ['10', 'Postgres faults under load'],
  ['11', 'Redis down / hung'],
  ['12', 'kill the admission runner'],
  ['13', '10,000 mutated tokens'],
  ['14', 'queue bypass'],
  ['15', 'joining 100 times; FIFO'],
  ['16', 'BOLA'],
  ['17', 'mass assignment'],
  ['18', 'abuse limits'],
  ['19', 'schema fuzz'],
  ['20', 'money edges'],
  ['21', 'identifier spellings'],
  ['22', 'session end under races'],
  ['23', 'refused holds extend nothing'],
  ['23b', 'a session outlives its time only to pay'],
  ['24', 'hostile user ids'],
  ['25', 'idempotency scope'],
  ['26', 'content types and headers'],
  ['S1', 'SIGTERM with requests in flight'],
  ['S2', 'rolling restart under load'],
]

const root = join(import.meta.dir, '..', '..')
for (const name of ['DATABASE_URL', 'REDIS_URL']) {
  if (!process.env[name]) {
    console.error(`${name} is not set: the reliability checks need a Postgres server and Redis (see README, Tests)`)
    process.exit(2)
  }
}

if (existsSync(RESULTS_FILE)) rmSync(RESULTS_FILE)
const started = performance.now()
const run = Bun.spawnSync(['bun', 'test', '--timeout', '600000', 'test/reliability'], {
  cwd: root,
  env: { ...process.env, REQUIRE_SERVICES: '1' },
  stdout: 'inherit',
  stderr: 'inherit',
})
const seconds = (performance.now() - started) / 1000

const latest = new Map<string, Result>()
if (existsSync(RESULTS_FILE)) {
  for (const line of readFileSync(RESULTS_FILE, 'utf8').split('\n')) {
    if (!line.trim()) continue
    const result = JSON.parse(line) as Result
    latest.set(result.check, result)
  }
}

const rows = CHECKS.map(([check, title]) => {
  const result = latest.get(check)
  const figures = result ? Object.entries(result.figures).map(([k, v]) => `${k}: ${v}`).join('; ') : 'no result recorded'
  return { check, title, verdict: result ? (result.pass ? 'pass' : 'FAIL') : 'MISSING', figures }
})
const width = (key: 'check' | 'title' | 'verdict') => Math.max(key.length, ...rows.map((r) => r[key].length))
const [wc, wt, wv] = [width('check'), width('title'), width('verdict')]
console.log(`\nReliability checks (${new Date().toISOString()}, ${seconds.toFixed(0)} s)\n`)
console.log(`${'check'.padEnd(wc)} | ${'title'.padEnd(wt)} | ${'verdict'.padEnd(wv)} | figures`)
console.log(`${'-'.repeat(wc)}-|-${'-'.repeat(wt)}-|-${'-'.repeat(wv)}-|--------`)
for (const r of rows) console.log(`${r.check.padEnd(wc)} | ${r.title.padEnd(wt)} | ${r.verdict.padEnd(wv)} | ${r.figures}`)
const failed = rows.filter((r) => r.verdict !== 'pass').length
console.log(`\n${rows.length - failed} of ${rows.length} checks passed`)
process.exit(run.exitCode !== 0 || failed > 0 ? 1 : 0)
