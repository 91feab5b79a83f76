import type { QueueStatus } from './model'
import type { LineLimits, SessionView } from './store'

// What a user is told about their place: the QueueStatus of a store's view, with the honest wait
// estimate and the advice of when to poll next.

const TERMINAL_POLL_MS = 60_000

export function queueStatus(concertId: string, view: SessionView, limits: LineLimits, nowMs = Date.now()): QueueStatus {
  let estimatedWaitSeconds: number | null = null
  let pollAfterMs = TERMINAL_POLL_MS
  // Always well inside the idle limit, so a waiting place is kept.
  const waitingCeiling = Math.min(30_000, Math.floor((limits.waitingIdleSeconds * 1000) / 3))
  // In the pre-queue (before the opening's draw) a waiting place has no position yet.
  const preQueue = view.status === 'WAITING' && view.position === null
  if (preQueue) {
    // Come back at the opening, when the draw gives a place.
    const untilOpening = limits.opensAtMs != null ? limits.opensAtMs - nowMs + 500 : waitingCeiling
    pollAfterMs = Math.max(500, Math.min(waitingCeiling, untilOpening))
  } else if (view.status === 'WAITING' && view.position !== null) {
    // Honest estimate: the measured admission pace of this line; the configured rate until one is measured.
    const pace = view.admittedPerSecond && view.admittedPerSecond > 0 ? view.admittedPerSecond : limits.admitPerSecond
    estimatedWaitSeconds = Math.ceil(view.position / pace)
    // Poll less often the further back.
    pollAfterMs = Math.max(500, Math.min(waitingCeiling, Math.round((estimatedWaitSeconds * 1000) / 4)))
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
    opensAt: preQueue && limits.opensAtMs != null ? new Date(limits.opensAtMs).toISOString() : null,
  }
}
