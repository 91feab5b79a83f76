import { join } from 'node:path'

// Ceilings that run none of our code (TARGETS.md, "Benchmark"): a ceiling made of our own function
// cannot show that the function is slow. Redis: redis-benchmark with the same reads and writes a poll and
// a join make (a score lookup, the heartbeat ZADD, the rank; a ZADD at the back). Postgres: pgbench with
// the minimal statement touching the same kind of row (pgbench/*.sql on scratch tables of the bench's
// database). Each is measured once per run, beside the scenarios.

export interface IndependentCeiling {
  tool: 'redis-benchmark' | 'pgbench'
  what: string
  clients: number
  opsPerSecond: number | null
  error?: string
}

const PGBENCH_DIR = join(import.meta.dir, 'pgbench')
const REDIS_BENCHMARK = Bun.which('redis-benchmark')
const PGBENCH = Bun.which('pgbench')
const PSQL = Bun.which('psql')

async function run(argv: string[], env: Record<string, string> = {}): Promise<string> {
  const proc = Bun.spawn(argv, { stdout: 'pipe', stderr: 'pipe', env: { ...process.env, ...env } })
  const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()])
  if ((await proc.exited) !== 0) throw new Error(`${argv[0]} exited ${proc.exitCode}: ${err.trim().slice(0, 300)}`)
  return out
}

/** The poll as one small script: the place's score, the heartbeat, the rank. */
const POLL_SCRIPT =
  "local s = redis.call('ZSCORE', KEYS[1], ARGV[1]) redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1]) return {s, redis.call('ZRANK', KEYS[1], ARGV[1])}"

export async function redisCeilings(redisUrl: string, db: number, requests: number): Promise<IndependentCeiling[]> {
  const url = new URL(redisUrl)
  const base = [REDIS_BENCHMARK ?? 'redis-benchmark', '-h', url.hostname, '-p', url.port || '6379', '--dbnum', String(db), '-c', '50', '-n', String(requests), '-r', '100000', '--csv']
  if (url.password) base.push('-a', decodeURIComponent(url.password))
  const cases: [string, string[]][] = [
    ['ZADD at the back of a line (join write)', ['ZADD', 'bench:ceiling:line', '__rand_int__', 'user:__rand_int__']],
    ['ZRANK (position)', ['ZRANK', 'bench:ceiling:line', 'user:__rand_int__']],
    ['EVAL: ZSCORE + ZADD heartbeat + ZRANK (poll)', ['EVAL', POLL_SCRIPT, '2', 'bench:ceiling:line', 'bench:ceiling:seen', 'user:__rand_int__', '1']],
  ]
  const out: IndependentCeiling[] = []
  for (const [what, command] of cases) {
    try {
      if (!REDIS_BENCHMARK) throw new Error('redis-benchmark is not installed')
      const csv = await run([...base, ...command])
      // "test","rps",...: the last line is the measured command.
      const last = csv.trim().split('\n').at(-1)!
      out.push({ tool: 'redis-benchmark', what, clients: 50, opsPerSecond: Number(JSON.parse(`[${last}]`)[1]) })
    } catch (error) {
      out.push({ tool: 'redis-benchmark', what, clients: 50, opsPerSecond: null, error: String(error) })
    }
  }
  await run([...base.filter((a) => a !== '--csv').slice(0, 7), ...(url.password ? ['-a', decodeURIComponent(url.password)] : []), '-n', '1', 'DEL', 'bench:ceiling:line', 'bench:ceiling:seen']).catch(() => '')
  return out
}

export async function postgresCeilings(databaseUrl: string, seconds: number): Promise<IndependentCeiling[]> {
  const cases: [string, string, number][] = [
    ['point read of a place by primary key (poll read)', 'read.sql', 16],
    ['heartbeat UPDATE of one place, autocommit (poll write)', 'heartbeat.sql', 16],
    ['INSERT of a place (join write)', 'join.sql', 16],
    ['conditional seat UPDATE (hold)', 'hold.sql', 16],
    ['balance UPDATE (charge)', 'charge.sql', 16],
  ]
  const out: IndependentCeiling[] = []
  try {
    if (!PGBENCH || !PSQL) throw new Error('pgbench/psql are not installed')
    await run([PSQL, '-q', '-v', 'ON_ERROR_STOP=1', '-f', join(PGBENCH_DIR, 'setup.sql'), databaseUrl])
    for (const [what, file, clients] of cases) {
      try {
        const text = await run([PGBENCH, '-n', '-c', String(clients), '-j', '2', '-T', String(Math.max(1, Math.round(seconds))), '-M', 'prepared', '-f', join(PGBENCH_DIR, file), databaseUrl])
        const tps = /tps = ([\d.]+)/.exec(text)?.[1]
        out.push({ tool: 'pgbench', what, clients, opsPerSecond: tps ? Number(tps) : null })
      } catch (error) {
        out.push({ tool: 'pgbench', what, clients, opsPerSecond: null, error: String(error) })
      }
    }
  } catch (error) {
    out.push({ tool: 'pgbench', what: 'setup', clients: 0, opsPerSecond: null, error: String(error) })
  } finally {
    await run([PSQL ?? 'psql', '-q', '-f', join(PGBENCH_DIR, 'teardown.sql'), databaseUrl]).catch(() => '')
  }
  return out
}
