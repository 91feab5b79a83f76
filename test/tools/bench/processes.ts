import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Subprocess } from 'bun'
import { sleep } from './driver'

// Child processes of the bench: app instances, the trivial Elysia server of the HTTP ceiling and the
// local Upstash-compatible REST front. Each writes its output to a log file under the run directory.

export const repoRoot = join(import.meta.dir, '..', '..', '..')

export interface Child {
  name: string
  pid: number
  port: number
  logFile: string
  stop(): Promise<void>
}

export interface SpawnOptions {
  name: string
  argv: string[]
  env: Record<string, string>
  port: number
  logDir: string
  /** Resolves true once the child serves; polled until timeoutMs. */
  ready: () => Promise<boolean>
  timeoutMs?: number
}

export async function spawnChild(o: SpawnOptions): Promise<Child> {
  const logFile = join(o.logDir, `${o.name}.log`)
  const fd = openSync(logFile, 'a')
  const proc: Subprocess = Bun.spawn(o.argv, { cwd: repoRoot, env: o.env, stdout: fd, stderr: fd, stdin: 'ignore' })
  closeSync(fd)
  const stop = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return
    proc.kill('SIGTERM')
    const exited = await Promise.race([proc.exited.then(() => true), sleep(8000).then(() => false)])
    if (!exited) {
      proc.kill('SIGKILL')
      await proc.exited
    }
  }
  const deadline = Date.now() + (o.timeoutMs ?? 30_000)
  for (;;) {
    if (proc.exitCode !== null) {
      throw new Error(`${o.name} exited with code ${proc.exitCode} before it was ready; see ${logFile}:\n${tail(logFile)}`)
    }
    if (await o.ready().catch(() => false)) break
    if (Date.now() > deadline) {
      await stop()
      throw new Error(`${o.name} was not ready within ${o.timeoutMs ?? 30_000} ms; see ${logFile}:\n${tail(logFile)}`)
    }
    await sleep(100)
  }
  return { name: o.name, pid: proc.pid, port: o.port, logFile, stop }
}

function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
  } catch {
    return '(no output)'
  }
}

export async function httpReady(port: number, path: string): Promise<boolean> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(2000) })
  await response.arrayBuffer()
  return response.ok
}

/**
 * The fields of /proc/<pid>/stat after the command name (fields[11] utime, [12] stime, [13] cutime,
 * [14] cstime, in clock ticks of 10 ms), and that name; null when the process is gone or not on Linux.
 */
function procStat(pid: number | string): { command: string; fields: string[] } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const end = stat.lastIndexOf(') ')
    return { command: stat.slice(stat.indexOf('(') + 1, end), fields: stat.slice(end + 2).split(' ') }
  } catch {
    return null
  }
}

/** CPU time (user + system) a process has used so far, in microseconds (Linux /proc; null elsewhere). */
export function cpuUs(pid: number): number | null {
  const stat = procStat(pid)
  return stat === null ? null : (Number(stat.fields[11]) + Number(stat.fields[12])) * 10_000
}

/**
 * CPU time (user + system) the processes of a Postgres server on this machine have used so far, in
 * microseconds: every process named postgres, and through the postmaster's count of the children it
 * reaped, the backends that have ended. Null when none is found (the server is elsewhere, or not Linux).
 */
export function postgresCpuUs(): number | null {
  let ticks = 0
  let found = false
  let pids: string[]
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name))
  } catch {
    return null
  }
  for (const pid of pids) {
    const stat = procStat(pid) // null: ended meanwhile
    if (stat === null || stat.command !== 'postgres') continue
    found = true
    const [utime, stime, cutime, cstime] = stat.fields.slice(11, 15).map(Number)
    ticks += utime! + stime! + cutime! + cstime!
  }
  return found ? ticks * 10_000 : null // clock ticks of 10 ms
}

/** Resident set size of a process in MB (Linux /proc; null elsewhere); `VmHWM`: its peak since it started. */
export function rssMb(pid: number, field: 'VmRSS' | 'VmHWM' = 'VmRSS'): number | null {
  try {
    const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return match ? Number(match[1]) / 1024 : null
  } catch {
    return null
  }
}

/** Samples a process's RSS until stopped; returns the peak in MB. */
export function sampleRss(pid: number, everyMs = 200): () => number | null {
  let peak: number | null = rssMb(pid)
  const timer = setInterval(() => {
    const now = rssMb(pid)
    if (now !== null && (peak === null || now > peak)) peak = now
  }, everyMs)
  return () => {
    clearInterval(timer)
    return peak
  }
}
