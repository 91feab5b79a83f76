import { api, codeOf, secondsToWait, type Answer } from './api'

export interface QueueStatus {
  concertId: string
  status: 'WAITING' | 'ACTIVE' | 'EXPIRED' | 'DONE' | 'SOLD_OUT'
  position: number | null
  estimatedWaitSeconds: number | null
  activeUntil: string | null
  pollAfterMs: number
  opensAt?: string | null
}

export const isTerminal = (s: QueueStatus) => s.status === 'DONE' || s.status === 'EXPIRED' || s.status === 'SOLD_OUT'

/** Pushed status unless the page was opened with ?live=poll (or the browser has no EventSource). */
export const pushWanted = () => 'EventSource' in window && new URLSearchParams(location.search).get('live') !== 'poll'

export interface Watch {
  stop(): void
  /** Ask now (after an action that may have changed the status). */
  refresh(): void
}

/**
 * Follows a place in line: Server-Sent Events when possible, else polling that obeys pollAfterMs and
 * Retry-After. A stream that cannot be opened or breaks for good falls back to polling.
 */
export function watchQueue(
  token: string,
  queueToken: string,
  onStatus: (s: QueueStatus) => void,
  /** A poll that failed (the next one waits out Retry-After, 2 s without it); null once one got through. */
  onTrouble: (answer: Answer | null) => void,
  /** The event stream broke and the browser is reconnecting (true); false once an event came again, or the stream was given up. */
  onReconnecting: (reconnecting: boolean) => void,
): Watch {
  let stopped = false
  let troubled = false
  let source: EventSource | null = null
  let timer: ReturnType<typeof setTimeout> | null = null

  const handle = (s: QueueStatus) => {
    if (stopped) return
    onStatus(s)
    if (isTerminal(s)) stop()
  }

  const schedule = (ms: number) => {
    if (timer) clearTimeout(timer)
    timer = setTimeout(poll, ms)
  }

  async function poll(repeat = true) {
    if (stopped) return
    const answer = await api<QueueStatus>('/v1/queue/status', { token, queueToken })
    if (stopped) return
    if (answer.ok || answer.status === 401) {
      if (troubled) onTrouble(null)
      troubled = false
    }
    if (answer.ok) {
      handle(answer.body)
      if (!stopped && repeat) schedule(Math.max(500, answer.body.pollAfterMs))
    } else if (codeOf(answer) === 'UNAUTHENTICATED') {
      // The person's sign-in is over, not the place (api.ts signs the page out; joining again keeps the place).
      stop()
    } else if (answer.status === 401) {
      // The token no longer names a place we can read: treat it as over, so the person can join again.
      handle({ concertId: '', status: 'EXPIRED', position: null, estimatedWaitSeconds: null, activeUntil: null, pollAfterMs: 0 })
    } else if (repeat) {
      // (A one-off refresh beside a live stream that failed says nothing: the stream carries on.)
      troubled = true
      onTrouble(answer)
      schedule(secondsToWait(answer) * 1000)
    }
  }

  function stop() {
    stopped = true
    if (source) onReconnecting(false)
    source?.close()
    source = null
    if (timer) clearTimeout(timer)
  }

  if (pushWanted()) {
    source = new EventSource(`/v1/queue/events?token=${encodeURIComponent(queueToken)}`)
    source.addEventListener('status', (event) => {
      onReconnecting(false)
      handle(JSON.parse((event as MessageEvent).data))
    })
    source.addEventListener('error', () => {
      if (!source) return
      // CONNECTING: the browser reconnects by itself (and hears the current status at once); until then
      // the place shown may be out of date, and the person should know.
      if (source.readyState === EventSource.CONNECTING) return onReconnecting(true)
      onReconnecting(false)
      source = null
      void poll()
    })
  } else {
    void poll()
  }

  return {
    stop,
    refresh() {
      if (stopped) return
      if (source) void poll(false)
      else schedule(0)
    },
  }
}
