import type { QueueStatus } from './model'
import type { LineLimits, LinePace, SessionView } from './store'

// What a user is told about their place: the QueueStatus of a store's view, with the honest wait
// estimate and the advice of when to poll next.

const TERMINAL_POLL_MS = 60_000
// While the operator has paused the line nobody is admitted, however near the front: a place polls no
// more often than every twentieth of a session's time, up to 5 s (helper-52: the first place, told 1 s,
// polled twice a second through a 15 s pause). A place admitted at the resume then learns it no later
// than that share of its turn (helper-53: with 5 s flat, 38% of a 10 s session).
const PAUSED_POLL_MS = 5_000
const PAUSED_POLL_SHARE_OF_SESSION = 1 / 20

/**
 * An honest wait for the place `position` from the front: the places free now (capacity less the live
 * sessions) are filled at the admission rate, and every place after them waits for a session to end.
 * A full line's sessions end at least as fast as if each used its whole time (`maxActive /
 * activeTtlSeconds` a second: every one ends by then, holds aside), faster when the last minute measured
 * them lasting less (people paid), and places are never filled faster than the rate. How long a session
 * lasts is measured as the live sessions on average over those ending a second (Little's law), so that
 * the measure holds for the capacity of now: one taken under a larger capacity told people half their
 * wait for a minute after the operator lowered it (helper-52). The admission pace alone (the estimate
 * until helper-50) counts the first filling of a line's capacity as if it went on: with capacity
 * binding, people were told up to 4.6 times too short a wait. Before any admission step ran in the last
 * minute, nobody is known to be live.
 */
export function waitSeconds(position: number, pace: LinePace | null, limits: LineLimits): number {
  const rate = limits.admitPerSecond
  const free = Math.max(0, limits.maxActive - (pace?.active ?? 0))
  if (position <= free) return position / rate
  const measured = pace && pace.liveAverage > 0 ? (limits.maxActive * pace.endedPerSecond) / pace.liveAverage : 0
  const ending = Math.min(rate, Math.max(limits.maxActive / limits.activeTtlSeconds, measured))
  return free / rate + (position - free) / ending
}

export function queueStatus(concertId: string, view: SessionView, limits: LineLimits, nowMs = Date.now()): QueueStatus {
  let estimatedWaitSeconds: number | null = null
  let pollAfterMs = TERMINAL_POLL_MS
  // Always well inside the idle limit, so a waiting place is kept.
  const waitingCeiling = Math.min(30_000, Math.floor((limits.waitingIdleSeconds * 1000) / 3))
  const untilOpeningMs = limits.opensAtMs != null ? Math.max(0, limits.opensAtMs - nowMs) : null
  // In the pre-queue (before the opening's draw) a waiting place has no position yet.
  const preQueue = view.status === 'WAITING' && view.position === null
  if (preQueue) {
    // Come back at the opening, when the draw gives a place.
    pollAfterMs = Math.max(500, Math.min(waitingCeiling, untilOpeningMs !== null ? untilOpeningMs + 500 : waitingCeiling))
  } else if (view.status === 'WAITING' && view.position !== null) {
    // While paused, the wait counted from the resume: how long a pause lasts, nobody here knows. Before an
    // opening nobody is admitted either, and when it comes is known: a place that has its number (an
    // opening set on an open line, or moved past its draw) waits until then first (helper-60: the first
    // place was told 1 s and to poll twice a second for the hour until the opening).
    const untilOpening = untilOpeningMs ?? 0
    // The sessions live now are over by an opening further away than a session's time: the capacity is
    // free then (helper-61: each place of a line of capacity 1 was told a session's time too much).
    const pace = view.pace !== null && untilOpening >= limits.activeTtlSeconds * 1000 ? { ...view.pace, active: 0 } : view.pace
    estimatedWaitSeconds = Math.ceil(untilOpening / 1000 + waitSeconds(view.position, pace, limits))
    // Poll less often the further back.
    const pausedFloor = Math.min(PAUSED_POLL_MS, limits.activeTtlSeconds * 1000 * PAUSED_POLL_SHARE_OF_SESSION)
    const floor = limits.paused ? Math.max(500, Math.min(pausedFloor, waitingCeiling)) : 500
    pollAfterMs = Math.max(floor, Math.min(waitingCeiling, Math.round((estimatedWaitSeconds * 1000) / 4)))
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
