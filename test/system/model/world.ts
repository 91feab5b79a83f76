// The model: what PRODUCT.md says the service knows about one concert, its line and a few users, as
// plain data. It holds deadlines, not outcomes of time: whether a hold or a session has lapsed is asked
// of a time window (the moments a request was in flight), and the answer is "yes", "no" or "maybe" when
// the deadline falls inside the window. A "maybe" lets the service answer either way, never anything else.

export const RULES = {
  seats: 3,
  price: 1000,
  maxHolds: 2,
  holdTtlMs: 2000,
  activeTtlMs: 3000,
  capacity: 2,
  maxCharge: 5000,
  maxBalance: 9000,
  tickMs: 1000,
}

/**
 * How far past a hold's expiry a session may be extended to cover it ("a session outlives
 * QUEUE_ACTIVE_TTL_SECONDS only as far as a live hold needs"): the hold's own time plus a safety margin
 * for clocks, and never more.
 */
export const HOLD_COVER_SLACK_MS = 10_000
/** Clock granularity between this process, Redis TIME and Postgres now() on one machine. */
export const EPS_MS = 50
/** After the last seat is sold, waiting users learn SOLD_OUT within one admission tick (plus slack). */
export const SOLD_OUT_NOTICE_MS = RULES.tickMs + 1500

export type Tri = 'yes' | 'no' | 'maybe'
export interface Window {
  t0: number
  t1: number
}

/** Is a deadline still ahead during the window? (A thing lapses exactly at its deadline.) */
export function before(deadline: number, w: Window): Tri {
  if (deadline > w.t1 + EPS_MS) return 'yes'
  if (deadline <= w.t0 - EPS_MS) return 'no'
  return 'maybe'
}

export type HoldState = 'HELD' | 'PAID' | 'CANCELLED'
export interface Hold {
  id: string
  user: number
  seat: number
  price: number
  state: HoldState
  expiresAt: number
}

export type SessionState = 'WAITING' | 'ACTIVE' | 'DONE' | 'EXPIRED'
export interface Session {
  token: string
  joinNo: number
  state: SessionState
  /** While ACTIVE: activeUntil, exact (lo = hi) once observed, else the range the rules allow. */
  until: { lo: number; hi: number } | null
  /**
   * While ACTIVE: the end of the session's own time (admission + the session TTL); past it the session
   * lasts only to pay what it holds (no new hold), and a cancel shrinks it back towards it.
   */
  own: { lo: number; hi: number } | null
  /** A hold extended activeUntil past the session's own time (so an observed activeUntil is not the own end). */
  extended: boolean
  /** While WAITING: the last moment it was seen waiting (an admission since then happened after it). */
  seenWaitingAt: number
  /** A payment was made in this session. */
  paid: boolean
}

export interface LedgerEntry {
  amount: number
  reservationId: string | null
}

export interface StoredAnswer {
  status: number
  body: unknown
}

export interface User {
  name: string
  token: string
  balance: number
  ledger: LedgerEntry[]
  sessions: Session[]
  /** The last payment sent with an Idempotency-Key: what a retry with that key must get. */
  lastPay: { key: string; reservationId: string; stored: StoredAnswer | null } | null
  lastCharge: { key: string; amount: number; stored: StoredAnswer | null } | null
}

export interface World {
  concertId: string
  scheduleId: string
  users: User[]
  holds: Hold[]
  joins: number
  /** When the last seat was sold (every seat SOLD), else null. */
  soldOutAt: number | null
}

export function clone(w: World): World {
  return structuredClone(w)
}

export const current = (u: User): Session | null => u.sessions.at(-1) ?? null

/** Whether user `ui`'s current session is ACTIVE (admitted, not lapsed, not ended) during the window. */
export function activeDuring(w: World, ui: number, win: Window): Tri {
  const s = current(w.users[ui]!)
  if (s === null) return 'no'
  if (s.state === 'ACTIVE') {
    const lo = before(s.until!.lo, win)
    const hi = before(s.until!.hi, win)
    let live: Tri = lo === hi ? lo : 'maybe'
    if (live !== 'no' && w.soldOutAt !== null) live = soldOutNotice(w, win) === 'yes' ? 'no' : 'maybe'
    if (live === 'yes' && lingering(w, ui, win)) live = 'maybe'
    return live
  }
  if (s.state === 'WAITING' && eligible(w, win).includes(s)) return 'maybe'
  return 'no'
}

/**
 * A session that paid, kept another hold, and let that hold lapse: ACTIVE with nothing held, with no
 * request to end it. PRODUCT.md ends a session "once the user has no live hold left" but a lapse has no
 * moment at which the service acts, so until its activeUntil such a session may read ACTIVE or DONE.
 */
export function lingering(w: World, ui: number, win: Window): boolean {
  const s = current(w.users[ui]!)
  if (s === null || s.state !== 'ACTIVE' || !s.paid) return false
  const live = liveHolds(w, ui, win)
  return live.yes === 0
}

/** Has the line certainly / maybe learnt that it is sold out during the window? */
export function soldOutNotice(w: World, win: Window): Tri {
  if (w.soldOutAt === null) return 'no'
  if (win.t0 > w.soldOutAt + SOLD_OUT_NOTICE_MS) return 'yes'
  return 'maybe'
}

/**
 * Waiting places the admission job may admit now: the front of the line, as many as the free capacity
 * allows. Counted generously (a session that may have lapsed frees its slot), so a place listed here
 * may or may not have been admitted yet; a place not listed must still be waiting.
 */
export function eligible(w: World, win: Window): Session[] {
  const sessions = w.users.map(current).filter((s): s is Session => s !== null)
  const live = sessions.filter((s) => s.state === 'ACTIVE' && before(s.until!.lo, win) === 'yes').length
  const waiting = sessions.filter((s) => s.state === 'WAITING').sort((a, b) => a.joinNo - b.joinNo)
  return waiting.slice(0, Math.max(0, RULES.capacity - live))
}

/** Does a held reservation still hold its seat during the window? */
export function holding(h: Hold, win: Window): Tri {
  return h.state === 'HELD' ? before(h.expiresAt, win) : 'no'
}

export function liveHolds(w: World, user: number, win: Window, except?: string): { yes: number; maybe: number } {
  let yes = 0
  let maybe = 0
  for (const h of w.holds) {
    if (h.user !== user || h.id === except) continue
    const live = holding(h, win)
    if (live === 'yes') yes++
    else if (live === 'maybe') maybe++
  }
  return { yes, maybe }
}

export type SeatState = 'AVAILABLE' | 'HELD' | 'SOLD'

/** The states a seat may show during the window. */
export function seatStates(w: World, seat: number, win: Window): SeatState[] {
  const holds = w.holds.filter((h) => h.seat === seat)
  if (holds.some((h) => h.state === 'PAID')) return ['SOLD']
  const live = holds.map((h) => holding(h, win))
  if (live.includes('yes')) return ['HELD']
  if (live.includes('maybe')) return ['HELD', 'AVAILABLE']
  return ['AVAILABLE']
}

export function markSoldOutIfLast(w: World, at: number) {
  const sold = new Set(w.holds.filter((h) => h.state === 'PAID').map((h) => h.seat))
  if (w.soldOutAt === null && sold.size === RULES.seats) w.soldOutAt = at
}

/** A one-line summary of the world for failure messages. */
export function summary(w: World, now = Date.now()): string {
  const users = w.users.map((u, i) => {
    const s = current(u)
    const session = s
      ? `${s.state}${s.state === 'ACTIVE' ? `(until ${fmt(s.until!.lo, now)}..${fmt(s.until!.hi, now)})` : ''}${s.paid ? ' paid' : ''} #${s.joinNo}`
      : 'no place'
    return `u${i}: ${session}, balance ${u.balance}`
  })
  const holds = w.holds.map((h) => `${h.id.slice(0, 8)} u${h.user} seat ${h.seat} ${h.state} expires ${fmt(h.expiresAt, now)}`)
  return [`concert ${w.concertId}${w.soldOutAt ? ' (sold out)' : ''}`, ...users, ...holds].join('\n  ')
}

/** A time as an offset from now, e.g. "+1.234s". */
export function fmt(t: number, now = Date.now()): string {
  const d = (t - now) / 1000
  return `${d >= 0 ? '+' : ''}${d.toFixed(3)}s`
}
