import { afterAll, describe, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { processAlive, startedAt, startEmbeddedDatabase } from '../../src/db/embedded'

// Embedded mode locks DATA_DIR with a pid file whose process must be alive. A process killed with
// SIGKILL is a zombie until its parent reaps it; signal 0 still reaches it, but it holds nothing.

const scratch = mkdtempSync(join(tmpdir(), 'cwr-lock-'))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

/**
 * A real zombie: `sh` starts a short `sleep` in the background and execs a long one, which never waits for
 * children, so the short one stays a zombie (state Z) while the long one lives. (The short one outlives the
 * exec: a child that ended before it could be reaped by the shell itself.) Killing the long one lets init reap it.
 */
async function withZombie(use: (pid: number) => Promise<void>) {
  const parent = Bun.spawn(['sh', '-c', 'sleep 0.5 & echo $!; exec sleep 60'], { stdout: 'pipe', stdin: 'ignore', stderr: 'ignore' })
  try {
    const reader = parent.stdout.getReader()
    const pid = Number(new TextDecoder().decode((await reader.read()).value).trim())
    reader.releaseLock()
    const stat = () => readFileSync(`/proc/${pid}/stat`, 'utf8')
    for (let i = 0; i < 250 && !/\) Z /.test(stat()); i++) await Bun.sleep(20)
    expect(stat()).toMatch(/\) Z /)
    await use(pid)
  } finally {
    parent.kill('SIGKILL')
    await parent.exited
  }
}

describe('the DATA_DIR lock', () => {
  test('a zombie is not alive; a running process is, and a pid no process has is not', async () => {
    expect(processAlive(process.pid)).toBe(true)
    await withZombie(async (pid) => {
      expect(processAlive(pid)).toBe(false)
    })
    const gone = Bun.spawn(['true'])
    await gone.exited
    expect(processAlive(gone.pid)).toBe(false)
  })

  test('the state is read after the last parenthesis of the name (names may hold ") Z ")', () => {
    const pid = process.pid // alive, so signal 0 passes and the stat decides
    expect(processAlive(pid, () => `${pid} (a) Z (b) S 1 1 1`)).toBe(true)
    expect(processAlive(pid, () => `${pid} (a) S (b) Z 1 1 1`)).toBe(false)
    expect(processAlive(pid, () => `${pid} (bun) X 1 1 1`)).toBe(false)
    expect(processAlive(pid, () => `${pid} (bun) R 1 1 1`)).toBe(true)
    // No /proc (another OS): signal 0 alone decides.
    expect(
      processAlive(pid, () => {
        throw new Error('ENOENT')
      }),
    ).toBe(true)
  })

  test('a pid given to another process since is not the holder: its start time differs (helper-58)', async () => {
    const dataDir = join(scratch, 'pid-reused')
    const first = await startEmbeddedDatabase(dataDir)
    await first.close()
    const lockFile = join(dataDir, 'instance.pid')
    const other = Bun.spawn(['sleep', '60'], { stdin: 'ignore', stdout: 'ignore', stderr: 'ignore' })
    try {
      const otherStarted = startedAt(other.pid)!
      expect(otherStarted).toMatch(/^\d+$/)
      // The holder as it wrote itself: that very process, alive: refused.
      writeFileSync(lockFile, `${other.pid} ${otherStarted}`)
      await expect(startEmbeddedDatabase(dataDir)).rejects.toThrow(`is in use by process ${other.pid}`)
      // The same pid, but the process that wrote it started at another time: it is gone, the pid reused.
      writeFileSync(lockFile, `${other.pid} ${Number(otherStarted) - 1}`)
      const restarted = await startEmbeddedDatabase(dataDir)
      await restarted.close()
      // A file of an older instance, the pid alone: a live process with that pid holds it.
      writeFileSync(lockFile, String(other.pid))
      await expect(startEmbeddedDatabase(dataDir)).rejects.toThrow(`is in use by process ${other.pid}`)
    } finally {
      other.kill('SIGKILL')
      await other.exited
    }
    // The start time is read after the last parenthesis of the name, as the state is.
    expect(startedAt(1, () => '1 (a) b) S 0 1 1 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 4242 1000 10')).toBe('4242')
  }, 60_000)

  test('a restart right after kill -9 takes over a data directory whose holder is still a zombie', async () => {
    const dataDir = join(scratch, 'after-kill')
    const first = await startEmbeddedDatabase(dataDir)
    await first.close()
    await withZombie(async (pid) => {
      // As the killed instance left it: its pid in the lock file, the process not yet reaped.
      writeFileSync(join(dataDir, 'instance.pid'), String(pid))
      const restarted = await startEmbeddedDatabase(dataDir)
      try {
        expect(readFileSync(join(dataDir, 'instance.pid'), 'utf8')).toBe(`${process.pid} ${startedAt(process.pid)}`)
      } finally {
        await restarted.close()
      }
    })
    expect(existsSync(join(dataDir, 'instance.pid'))).toBe(false)
  }, 60_000)
})
