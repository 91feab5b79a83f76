import type { QueueStatus } from './model'
import type { LineLimits, SessionView } from './store'

// What a user is told about their place: the QueueStatus of a store's view, with the honest wait
// estimate and the advice of when to poll next.

const TERMINAL_POLL_MS = 60_000

export function queueStatus(concertId: string, view: SessionView, limits: LineLimits, nowMs = Date.now()): QueueStatus {
  let estimatedWaitSeconds: number | null = null
  let pollAfterMs = TERMINAL_POLL_MS
  if (view.status === 'WAITING' && view.position !== null) {
    // Honest estimate: the measured admission pace of this line; the configured rate until one is measured.
    const pace = view.admittedPerSecond && view.admittedPerSecond > 0 ? view.admittedPerSecond : limits.admitPerSecond
    estimatedWaitSeconds = Math.ceil(view.position / pace)
    // Poll less often the further back; always well inside the idle limit so the place is kept.
    const ceiling = Math.min(30_000, Math.floor((limits.waitingIdleSeconds * 1000) / 3))
    pollAfterMs = Math.max(500, Math.min(ceiling, Math.round((estimatedWaitSeconds * 1000) / 4)))
  } else if (view.status === 'ACTIVE' && view.activeUntilMs !== null) {
    pollAfterMs = Math.max(1000, Math.min(30_000, view.activeUntilMs - nowMs))
  }
  return {
    concertId,
    status: view.status,
    position: view.status === 'WAITING' ? view.position : null,
    estimatedWaitSeconds,
    activeUntil: view.status === 'ACTIVE' && view.activeUntilMs !== null ? new Date(view.activeUntilMs).toISOString() : null,
    pollAfterMs,
  }
}
