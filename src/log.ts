import type { LogLevel } from './config'

// Structured logs: one JSON object per line on stdout, below the configured level dropped.
export type Log = (entry: Record<string, unknown> & { level?: LogLevel }) => void

const rank: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 }

// Lines are gathered and written together once per event-loop turn (at most every few ms): one write
// system call for many requests instead of one each. Warnings and errors go out at once.
const FLUSH_AT_BYTES = 64 * 1024
let pending: string[] = []
let pendingBytes = 0
let scheduled = false

/** Writes out what is gathered; called before the process exits. */
export function flush() {
  scheduled = false
  if (pending.length === 0) return
  const text = pending.join('')
  pending = []
  pendingBytes = 0
  // Bun's own writer for stdout: node's stream layer under process.stdout.write was 5-10% of the CPU of a
  // poll under load (bun --cpu-prof: writeOrBuffer, fixed_queue); this one is a fraction of a percent.
  stdout.write(text)
  stdout.flush()
}

const stdout = Bun.stdout.writer()

function write(line: string, urgent: boolean) {
  pending.push(line)
  pendingBytes += line.length
  if (urgent || pendingBytes >= FLUSH_AT_BYTES) return flush()
  if (!scheduled) {
    scheduled = true
    setImmediate(flush)
  }
}

process.once('beforeExit', flush)

// The time of a line, made once per millisecond: a busy instance writes many lines in each.
let stampMs = 0
let stamp = ''
function now(): string {
  const ms = Date.now()
  if (ms !== stampMs) {
    stampMs = ms
    stamp = new Date(ms).toISOString()
  }
  return stamp
}

export function jsonLog(base: Record<string, unknown> = {}, minimum: LogLevel = 'info'): Log {
  // {"time":..., base fields..., entry fields...}: the base is serialised once, the entry as it comes (a
  // request line is written for every request, so it is not copied into a new object first).
  const baseFields = Object.keys(base).length ? `,${JSON.stringify(base).slice(1, -1)}` : ''
  return (entry) => {
    const level = entry.level ?? 'info'
    if (rank[level] < rank[minimum]) return
    const fields = JSON.stringify(entry)
    const line = `{"time":"${now()}"${baseFields}${fields.length > 2 ? `,${fields.slice(1)}` : '}'}\n`
    write(line, rank[level] >= rank.warn)
  }
}

export const silentLog: Log = () => {}
