import { afterAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

// The operator's side of "a bad value stops the start with one clear line naming the variable": the real
// process (`bun src/index.ts`) started with a bad environment exits 1 and writes one line on stderr, no
// stack, whether the value is malformed (config.ts) or only fails once used (a port taken, DATA_DIR a
// file, the database unreachable).

const root = join(import.meta.dir, '..', '..')
const scratch = mkdtempSync(join(tmpdir(), 'cwr-startup-'))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))
let dirs = 0
const freshDataDir = () => join(scratch, `data-${++dirs}`)

// Ports 4340-4349 are this file's (a start that wrongly succeeds listens on 4344); 4399 has nothing behind it.
const taken = (port: number) => Bun.serve({ port, hostname: '0.0.0.0', fetch: () => new Response('another program') })

async function start(env: Record<string, string>, timeoutMs = 60_000) {
  const child = Bun.spawn(['bun', 'src/index.ts'], {
    cwd: root,
    // Only what the test gives, so the runner's own DATABASE_URL or REDIS_URL never leaks in.
    env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? '/tmp', SEED_DEMO: 'false', PORT: '4344', ...env },
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited])
  clearTimeout(timer)
  return { code, stdout, stderrLines: stderr.trim().split('\n') }
}

async function expectOneLine(env: Record<string, string>, line: RegExp) {
  const run = await start(env)
  expect(run.stderrLines).toEqual([expect.stringMatching(line)])
  expect(run.stderrLines[0]).not.toContain('undefined')
  expect(run.code).toBe(1)
  return run.stderrLines[0]!
}

describe('a start that cannot go on says why in one line', () => {
  test('NODE_ENV=PRODUCTION is production: dev tokens are refused', async () => {
    await expectOneLine({ NODE_ENV: 'PRODUCTION', AUTH_DEV_TOKENS: 'true', DATA_DIR: freshDataDir() }, /^Invalid configuration: AUTH_DEV_TOKENS cannot be true when NODE_ENV=production/)
  }, 70_000)

  test('a NODE_ENV that only looks like production (prod) is refused, not run as development', async () => {
    await expectOneLine({ NODE_ENV: 'prod', DATA_DIR: freshDataDir() }, /^Invalid configuration: NODE_ENV must be one of production, development, test \(got "prod"\)$/)
  }, 70_000)

  test('MAX_BALANCE below the default MAX_CHARGE shows both values', async () => {
    await expectOneLine({ MAX_BALANCE: '1', DATA_DIR: freshDataDir() }, /^Invalid configuration: MAX_CHARGE must not exceed MAX_BALANCE \(got MAX_CHARGE=10000000 \(default\), MAX_BALANCE=1\)$/)
  }, 70_000)

  test('DATA_DIR that is a file', async () => {
    const file = join(scratch, 'a-file')
    writeFileSync(file, 'not a directory')
    await expectOneLine({ DATA_DIR: file, PORT: '4399' }, new RegExp(`^Cannot start: DATA_DIR ${file} is a file, not a directory$`))
  }, 70_000)

  test('DATA_DIR below a file', async () => {
    const file = join(scratch, 'another-file')
    writeFileSync(file, 'not a directory')
    await expectOneLine({ DATA_DIR: join(file, 'data'), PORT: '4399' }, /^Cannot start: DATA_DIR \S+ cannot be created: a part of its path is a file$/)
  }, 70_000)

  // The tests run as root, whom file modes do not stop; sysfs refuses new files even to root.
  test('DATA_DIR that cannot be written', async () => {
    await expectOneLine({ DATA_DIR: '/sys/kernel', PORT: '4399' }, /^Cannot start: DATA_DIR \/sys\/kernel is not writable \(EACCES: permission denied\)$/)
  }, 70_000)

  test('DATABASE_URL that nothing answers: the cause, and no password', async () => {
    const line = await expectOneLine(
      { DATABASE_URL: 'postgres://postgres:hunter2-secret@127.0.0.1:4399/tickets?sslmode=disable', AUTH_JWT_SECRET: 'x'.repeat(32), PORT: '4398' },
      /^Cannot start: DATABASE_URL postgres:\/\/postgres@127\.0\.0\.1:4399\/tickets cannot be connected to \(.*ECONNREFUSED.*\)$/,
    )
    expect(line).not.toContain('hunter2')
  }, 70_000)

  test('a database host that never answers: one line within seconds, not silence (a hostile probe waited 120 s)', async () => {
    // 10.255.255.1 drops what it is sent on this box; where a network refuses it instead, the line names that.
    const began = Date.now()
    await expectOneLine(
      { DATABASE_URL: 'postgres://postgres:pw@10.255.255.1:5432/tickets', AUTH_JWT_SECRET: 'x'.repeat(32), PORT: '4397' },
      /^Cannot start: DATABASE_URL postgres:\/\/postgres@10\.255\.255\.1:5432\/tickets cannot be connected to \(.+\)$/,
    )
    expect(Date.now() - began).toBeLessThan(20_000)
  }, 70_000)

  test('WORKERS=2 and a start its workers cannot make: the instance stops (exit 1), no worker is started again', async () => {
    const run = await start({ DATABASE_URL: 'postgres://postgres@127.0.0.1:4399/tickets', AUTH_JWT_SECRET: 'x'.repeat(32), WORKERS: '2', PORT: '4346' }, 20_000)
    expect(run.code).toBe(1)
    expect(run.stderrLines.length).toBeGreaterThanOrEqual(1)
    for (const line of run.stderrLines) expect(line).toMatch(/^Cannot start: DATABASE_URL postgres:\/\/postgres@127\.0\.0\.1:4399\/tickets cannot be connected to/)
    expect(run.stdout).toContain('a worker cannot start; stopping the instance')
    expect(run.stdout).not.toContain('starting it again')
  }, 30_000)

  test('PORT taken by another program', async () => {
    const other = taken(4340)
    try {
      await expectOneLine({ DATA_DIR: freshDataDir(), PORT: '4340' }, /^Cannot start: PORT 4340 is in use by another program \(EADDRINUSE\)$/)
    } finally {
      other.stop(true)
    }
  }, 70_000)

  test('METRICS_PORT taken by another program', async () => {
    const other = taken(4341)
    try {
      await expectOneLine({ DATA_DIR: freshDataDir(), PORT: '4342', METRICS_PORT: '4341' }, /^Cannot start: METRICS_PORT 4341 is in use by another program \(EADDRINUSE\)$/)
    } finally {
      other.stop(true)
    }
  }, 70_000)
})

test('METRICS_PORT=0 binds a free port and says which, as PORT=0 does', async () => {
  const child = Bun.spawn(['bun', 'src/index.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? '/tmp', SEED_DEMO: 'false', DATA_DIR: freshDataDir(), PORT: '4343', METRICS_PORT: '0' },
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'ignore',
  })
  try {
    const lines: Record<string, any>[] = []
    void (async () => {
      const decoder = new TextDecoder()
      let buffer = ''
      for await (const chunk of child.stdout as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true })
        for (const line of buffer.split('\n').slice(0, -1)) lines.push(JSON.parse(line))
        buffer = buffer.slice(buffer.lastIndexOf('\n') + 1)
      }
    })()
    const deadline = Date.now() + 60_000
    while (!lines.some((l) => l.msg === 'listening') && Date.now() < deadline) await Bun.sleep(50)
    // The metrics line comes with the "listening" one (just before it: METRICS_PORT is bound first).
    await Bun.sleep(500)
    const metricsLine = lines.find((l) => l.msg === 'metrics listening')
    expect(metricsLine?.url).toMatch(/^http:\/\/localhost:\d+\/metrics$/)
    const url = new URL(metricsLine!.url)
    expect(url.port).not.toBe('0')
    const scrape = await fetch(`http://127.0.0.1:${url.port}/metrics`)
    expect(scrape.status).toBe(200)
  } finally {
    child.kill('SIGKILL')
    await child.exited
  }
}, 70_000)
