import type { LogLevel } from './config'

// Structured logs: one JSON object per line on stdout, below the configured level dropped.
export type Log = (entry: Record<string, unknown> & { level?: LogLevel }) => void

const rank: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 }

export function jsonLog(base: Record<string, unknown> = {}, minimum: LogLevel = 'info'): Log {
  return (entry) => {
    if (rank[entry.level ?? 'info'] < rank[minimum]) return
    process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...base, ...entry })}\n`)
  }
}

export const silentLog: Log = () => {}
