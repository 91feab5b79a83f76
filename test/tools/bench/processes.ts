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

/** CPU time (user + system) a process has used so far, in microseconds (Linux /proc; null elsewhere). */
export function cpuUs(pid: number): number | null {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
    return (Number(fields[11]) + Number(fields[12])) * 10_000 // clock ticks of 10 ms
  } catch {
    return null
  }
}

/**
 * CPU time (user + system) the processes of a Postgres server on this machine have used so far, in
 * microseconds: every process named postgres, and through the postmaster's count of the children it
 * reaped, the backends that have ended. Null when none is found (the server is elsewhere, or not Linux).
 */
export function postgresCpuUs(): number | null {
  let ticks = 0
  let found = false
  try {
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue
      let stat: string
      try {
        stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      } catch {
        continue // ended meanwhile
      }
      if (!stat.startsWith(`${pid} (postgres)`)) continue
      found = true
      const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ')
      ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])
    }
  } catch {
    return null
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
