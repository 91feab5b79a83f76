// Structured logs: one JSON object per line on stdout.
export type Log = (entry: Record<string, unknown>) => void

export function jsonLog(base: Record<string, unknown> = {}): Log {
  return (entry) => {
    process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...base, ...entry })}\n`)
  }
}

export const silentLog: Log = () => {}
