// PRODUCT.md's rules as the answers each request may get, and what each answer changes. A rule returns
// every answer the contract allows at that moment (more than one only where a deadline falls inside the
// request's window, or where PRODUCT.md leaves the order of two refusals open), each with its effect.
import {
  EPS_MS,
  HOLD_COVER_SLACK_MS,
  RULES,
  activeDuring,
  clone,
  current,
  eligible,
  before,
  holding,
  liveHolds,
  markSoldOutIfLast,
  seatStates,
  soldOutNotice,
  type Session,
  type StoredAnswer,
  type Window,
  type World,
} from './world'

export interface Answer {
  status: number
  body: any
}

export interface Branch {
  label: string
  status: number
  code?: string
  /** What else the body must say; a reason when it does not. */
  check?: (body: any) => string | null
  then?: (w: World, answer: Answer) => void
  /** A payment or cancel that went through: the session may end here (see endIfNothingHeld). */
  settles?: { user: number; reservationId: string }
}

export type Action =
  | { kind: 'join'; user: number }
  | { kind: 'hold'; user: number; seat: number; stale: boolean }
  | { kind: 'cancel'; user: number; reservationId: string }
  | { kind: 'pay'; user: number; reservationId: string; key: string | null }
  | { kind: 'payRetry'; user: number }
  | { kind: 'charge'; user: number; amount: number; key: string | null }
  | { kind: 'chargeRetry'; user: number }
  | { kind: 'pollStale'; user: number }

const problem = (status: number, code: string, label = code, then?: Branch['then']): Branch => ({ label, status, code, then })

// Only answers the operation itself decided are kept under an Idempotency-Key (PRODUCT.md).
const storable = (status: number) => (status >= 200 && status < 300) || status === 402 || status === 409 || status === 422

/** Admission that happened unobserved: the session is ACTIVE, admitted at some moment since it was last seen waiting. */
export function admitUnseen(s: Session, win: Window) {
  if (s.state !== 'WAITING') return
  s.state = 'ACTIVE'
  s.until = { lo: s.seenWaitingAt + RULES.activeTtlMs - EPS_MS, hi: win.t1 + RULES.activeTtlMs + EPS_MS }
  s.own = { ...s.until }
}

/** The positions a waiting session may report: every place ahead that may have been admitted may be gone. */
export function positionRange(w: World, s: Session, win: Window): [number, number] {
  const ahead = w.users.map(current).filter((o): o is Session => o !== null && o.state === 'WAITING' && o.joinNo < s.joinNo)
  const mayBeGone = ahead.filter((o) => eligible(w, win).includes(o)).length
  return [ahead.length - mayBeGone + 1, ahead.length + 1]
}

function expectPosition(w: World, s: Session, win: Window, body: any): string | null {
  const [lo, hi] = positionRange(w, s, win)
  if (body.status === 'WAITING' && !(body.position >= lo && body.position <= hi)) return `position ${body.position}, expected ${lo === hi ? lo : `${lo}..${hi}`}`
  return null
}

function join(w: World, ui: number, win: Window): Branch[] {
  const u = w.users[ui]!
  const s = current(u)
  const branches: Branch[] = []
  const notice = soldOutNotice(w, win)
  if (notice !== 'no') branches.push(problem(409, 'SOLD_OUT'))
  if (notice === 'yes') return branches

  const place: Branch = {
    label: '201 a fresh place at the back',
    status: 201,
    check: (body) => {
      if (body.status !== 'WAITING') return `status ${body.status}, expected WAITING`
      if (u.sessions.some((o) => o.token === body.token)) return 'an old queue token came back for a fresh place'
      const waiting = w.users.map(current).filter((o) => o?.state === 'WAITING').length
      const mayBeGone = eligible(w, win).length
      if (!(body.position >= waiting - mayBeGone + 1 && body.position <= waiting + 1)) return `position ${body.position}, expected ${waiting - mayBeGone + 1}..${waiting + 1}`
      return null
    },
    then: (next, answer) => {
      const me = next.users[ui]!
      const before = current(me)
      // A place replaced by a fresh one is over: DONE if it paid (its holds all settled), else EXPIRED.
      if (before?.state === 'ACTIVE') before.state = before.paid ? 'DONE' : 'EXPIRED'
      me.sessions.push({ token: answer.body.token, joinNo: ++next.joins, state: 'WAITING', until: null, own: null, extended: false, seenWaitingAt: win.t1, paid: false })
    },
  }
  if (s === null || s.state === 'DONE' || s.state === 'EXPIRED') return [...branches, place]

  const same = (expectStatus: string[]): Branch['check'] => (body) => {
    if (body.token !== s.token) return 'joining again gave another queue token'
    if (!expectStatus.includes(body.status)) return `status ${body.status}, expected ${expectStatus.join(' or ')}`
    return s.state === 'WAITING' ? expectPosition(w, s, win, body) : null
  }
  if (s.state === 'WAITING') {
    const mayBeAdmitted = eligible(w, win).includes(s)
    branches.push({
      label: '200 the same waiting place',
      status: 200,
      check: same(mayBeAdmitted ? ['WAITING', 'ACTIVE'] : ['WAITING']),
      then: (next, answer) => {
        const me = current(next.users[ui]!)!
        if (answer.body.status === 'ACTIVE') admitUnseen(me, win)
        else me.seenWaitingAt = win.t1
      },
    })
    return branches
  }
  // ACTIVE in the model: the same place while it lasts, a fresh one once it lapsed (or ended, see lingering).
  const live = activeDuring(w, ui, win)
  if (live !== 'no') branches.push({ label: '200 the same active place', status: 200, check: same(['ACTIVE']) })
  if (live !== 'yes') branches.push(place)
  return branches
}

const noToken = problem(401, 'QUEUE_TOKEN_INVALID', '401 without a queue token')

function hold(w: World, ui: number, seat: number, stale: boolean, win: Window): Branch[] {
  if (current(w.users[ui]!) === null) return [noToken]
  if (stale) return [problem(403, 'QUEUE_NOT_ACTIVE', '403 with the token of an ended session')]
  const live = activeDuring(w, ui, win)
  const branches: Branch[] = []
  if (live !== 'yes') branches.push(problem(403, 'QUEUE_NOT_ACTIVE'))
  if (live === 'no') return branches

  // Past the guard the session was ACTIVE at that moment.
  const admitted = (next: World) => admitUnseen(current(next.users[ui]!)!, win)
  // A refused hold extends nothing: the session keeps the activeUntil it had.
  const refused = (code: string, status = 409): Branch => problem(status, code, code, admitted)
  // Past its own time a session only pays what it holds: a new hold is 403 (decided before the seat is read).
  const own = current(w.users[ui]!)!.own
  const withinOwn = own === null ? 'yes' : before(own.hi, win) === 'no' ? 'no' : before(own.lo, win) === 'yes' ? 'yes' : 'maybe'
  if (withinOwn !== 'yes') branches.push(problem(403, 'QUEUE_NOT_ACTIVE', '403 past the session\'s own time'))
  if (withinOwn === 'no') return branches
  // A session that paid ends once no live hold is left (PRODUCT.md), also when the last one lapsed: a new
  // hold is then 403 at once, before the queue store hears of it (the lapse job tells it).
  if (current(w.users[ui]!)!.paid) {
    const held = liveHolds(w, ui, win)
    if (held.yes === 0) branches.push(problem(403, 'QUEUE_NOT_ACTIVE', '403 in a session that paid and holds nothing'))
    if (held.yes === 0 && held.maybe === 0) return branches
  }
  if (seat > RULES.seats) return [...branches, refused('NOT_FOUND', 404)]
  const states = seatStates(w, seat, win)
  const mine = liveHolds(w, ui, win)
  const overLimit = mine.yes >= RULES.maxHolds ? 'yes' : mine.yes + mine.maybe >= RULES.maxHolds ? 'maybe' : 'no'
  if (states.includes('HELD') || states.includes('SOLD')) branches.push(refused('SEAT_UNAVAILABLE'))
  if (overLimit !== 'no') branches.push(refused('HOLD_LIMIT_REACHED'))
  if (states.includes('AVAILABLE') && overLimit !== 'yes') {
    branches.push({
      label: '201 the seat is held',
      status: 201,
      check: (body) => {
        const expires = Date.parse(body.expiresAt)
        if (body.status !== 'HELD' || body.seatNumber !== seat || body.scheduleId !== w.scheduleId || body.price !== RULES.price) {
          return `reservation ${JSON.stringify(body)} is not a hold of seat ${seat}`
        }
        if (!(expires >= win.t0 + RULES.holdTtlMs - EPS_MS && expires <= win.t1 + RULES.holdTtlMs + EPS_MS)) {
          return `expiresAt ${body.expiresAt} is not HOLD_TTL_SECONDS after the request`
        }
        return null
      },
      then: (next, answer) => {
        admitted(next)
        const expiresAt = Date.parse(answer.body.expiresAt)
        next.holds.push({ id: answer.body.reservationId, user: ui, seat, price: RULES.price, state: 'HELD', expiresAt })
        // Making a hold extends the session to cover it, and only as far as it needs.
        const s = current(next.users[ui]!)!
        if (s.state === 'ACTIVE') {
          s.until = { lo: Math.max(s.until!.lo, expiresAt), hi: Math.max(s.until!.hi, expiresAt + HOLD_COVER_SLACK_MS) }
          s.extended = true
        }
      },
    })
  }
  return branches
}

/** After a payment or a cancel: a session that paid ends once no live hold is left ("maybe" gives both). */
function endIfNothingHeld(w: World, ui: number, win: Window, except: string): World[] {
  const s = current(w.users[ui]!)
  if (s === null || s.state !== 'ACTIVE' || !s.paid) return [w]
  const others = liveHolds(w, ui, win, except)
  if (others.yes > 0) return [w]
  const done = clone(w)
  current(done.users[ui]!)!.state = 'DONE'
  current(done.users[ui]!)!.until = null
  return others.maybe > 0 ? [done, w] : [done]
}

function cancel(w: World, ui: number, reservationId: string, win: Window): Branch[] {
  const h = w.holds.find((x) => x.id === reservationId)
  if (!h || h.user !== ui) return [problem(404, 'NOT_FOUND', "404 for someone else's or no reservation")]
  if (h.state === 'PAID') return [problem(409, 'ALREADY_PAID')]
  const cancelled: Branch = {
    label: '200 CANCELLED',
    status: 200,
    check: (body) => (body.status === 'CANCELLED' && body.reservationId === reservationId ? null : `body ${JSON.stringify(body)}`),
  }
  // Cancelling twice: PRODUCT.md is silent; either "it is cancelled" or "it is no longer a live hold".
  if (h.state === 'CANCELLED') return [cancelled, problem(409, 'HOLD_EXPIRED')]
  const live = holding(h, win)
  const branches: Branch[] = []
  if (live !== 'yes') branches.push(problem(409, 'HOLD_EXPIRED'))
  if (live !== 'no') {
    branches.push({
      ...cancelled,
      label: '200 CANCELLED, the seat is free',
      then: (next) => {
        next.holds.find((x) => x.id === reservationId)!.state = 'CANCELLED'
        // The session shrinks to its own time or what the user's other live holds need, never longer.
        const s = current(next.users[ui]!)
        if (s?.state === 'ACTIVE' && s.own && s.until) {
          const others = next.holds.filter((x) => x.user === ui && x.id !== reservationId && x.state === 'HELD')
          const surely = others.filter((x) => holding(x, win) === 'yes').map((x) => x.expiresAt)
          const maybe = others.filter((x) => holding(x, win) !== 'no').map((x) => x.expiresAt + HOLD_COVER_SLACK_MS)
          s.until = {
            lo: Math.min(s.until.lo, Math.max(s.own.lo, ...surely)),
            hi: Math.min(s.until.hi, Math.max(s.own.hi, ...maybe)),
          }
          if (s.until.lo > s.until.hi) s.until.lo = s.until.hi
        }
      },
      settles: { user: ui, reservationId },
    })
  }
  return branches
}

function pay(w: World, ui: number, reservationId: string, key: string | null, win: Window): Branch[] {
  const u = w.users[ui]!
  const h = w.holds.find((x) => x.id === reservationId)
  const remember = (next: World, answer: Answer) => {
    if (key !== null) next.users[ui]!.lastPay = { key, reservationId, stored: storable(answer.status) ? { status: answer.status, body: answer.body } : null }
  }
  const withKey = (b: Branch): Branch => ({ ...b, then: (next, answer) => (b.then?.(next, answer), remember(next, answer)) })
  // Paying a PAID reservation: 409 ALREADY_PAID whatever state the queue session is in.
  if (h && h.user === ui && h.state === 'PAID') return [withKey(problem(409, 'ALREADY_PAID'))]

  if (current(u) === null) return [withKey(noToken)]
  const mine = h !== undefined && h.user === ui
  // A DONE session has nothing left to pay (it ended once nothing was held): its token pays nothing.
  const live = current(u)!.state === 'DONE' ? 'no' : activeDuring(w, ui, win)
  const branches: Branch[] = []
  if (live !== 'yes') {
    branches.push(withKey(problem(403, 'QUEUE_NOT_ACTIVE')))
    // Which refusal comes first for a reservation that is not the user's is not specified.
    if (!mine) branches.push(withKey(problem(404, 'NOT_FOUND')))
  }
  if (live === 'no') return branches

  const admitted = (next: World) => admitUnseen(current(next.users[ui]!)!, win)
  const refused = (status: number, code: string) => withKey(problem(status, code, code, admitted))
  if (!mine) return [...branches, refused(404, 'NOT_FOUND')]
  const payable = h.state === 'HELD' ? holding(h, win) : 'no'
  if (payable !== 'yes') branches.push(refused(409, 'HOLD_EXPIRED'))
  if (payable === 'no') return branches
  if (u.balance < h.price) return [...branches, refused(402, 'INSUFFICIENT_BALANCE')]
  branches.push(
    withKey({
      label: '201 PAID',
      status: 201,
      settles: { user: ui, reservationId },
      check: (body) =>
        body.status === 'PAID' && body.reservationId === reservationId && body.amount === h.price && body.balance === u.balance - h.price
          ? null
          : `payment ${JSON.stringify(body)}, expected amount ${h.price} and balance ${u.balance - h.price}`,
      then: (next) => {
        admitted(next)
        const me = next.users[ui]!
        me.balance -= h.price
        me.ledger.push({ amount: -h.price, reservationId })
        next.holds.find((x) => x.id === reservationId)!.state = 'PAID'
        current(me)!.paid = true
        markSoldOutIfLast(next, win.t1)
      },
    }),
  )
  return branches
}

function replay(stored: StoredAnswer): Branch {
  return {
    label: `${stored.status} replayed`,
    status: stored.status,
    check: (body) => (Bun.deepEquals(body, stored.body) ? null : `replayed ${JSON.stringify(body)}, first answer was ${JSON.stringify(stored.body)}`),
  }
}

function charge(w: World, ui: number, amount: number, key: string | null): Branch[] {
  const u = w.users[ui]!
  const remember = (next: World, answer: Answer) => {
    if (key !== null) next.users[ui]!.lastCharge = { key, amount, stored: storable(answer.status) ? { status: answer.status, body: answer.body } : null }
  }
  if (!Number.isSafeInteger(amount) || amount < 1 || amount > RULES.maxCharge) return [problem(400, 'VALIDATION_FAILED', 'VALIDATION_FAILED', remember)]
  if (u.balance + amount > RULES.maxBalance) return [problem(422, 'BALANCE_LIMIT', 'BALANCE_LIMIT', remember)]
  return [
    {
      label: '201 charged',
      status: 201,
      check: (body) => (body.amount === amount && body.balance === u.balance + amount ? null : `charge ${JSON.stringify(body)}, expected balance ${u.balance + amount}`),
      then: (next, answer) => {
        const me = next.users[ui]!
        me.balance += amount
        me.ledger.push({ amount, reservationId: null })
        remember(next, answer)
      },
    },
  ]
}

function pollStale(w: World, ui: number): Branch[] {
  const old = w.users[ui]!.sessions.at(-2)!
  const statuses = [old.state]
  return [
    {
      label: `200 ${statuses.join(' or ')} for an ended place`,
      status: 200,
      check: (body) => (statuses.includes(body.status) ? null : `an ended place reads ${body.status}`),
    },
  ]
}

/** Every answer the contract allows for `action` now, each with its effect. */
export function allowed(w: World, action: Action, win: Window): Branch[] {
  const u = w.users[action.user]!
  switch (action.kind) {
    case 'join':
      return join(w, action.user, win)
    case 'hold':
      return hold(w, action.user, action.seat, action.stale, win)
    case 'cancel':
      return cancel(w, action.user, action.reservationId, win)
    case 'pay':
      return pay(w, action.user, action.reservationId, action.key, win)
    case 'payRetry':
      return u.lastPay!.stored ? [replay(u.lastPay!.stored)] : pay(w, action.user, u.lastPay!.reservationId, u.lastPay!.key, win)
    case 'charge':
      return charge(w, action.user, action.amount, action.key)
    case 'chargeRetry':
      return u.lastCharge!.stored ? [replay(u.lastCharge!.stored)] : charge(w, action.user, u.lastCharge!.amount, u.lastCharge!.key)
    case 'pollStale':
      return pollStale(w, action.user)
  }
}

export interface Matched {
  worlds: World[]
  /** Why no allowed answer matched (empty when one did). */
  mismatch: string | null
}

/** The worlds after `answer`, one per allowed answer it matches (and per open "maybe" that answer leaves). */
export function follow(w: World, action: Action, answer: Answer, win: Window): Matched {
  const branches = allowed(w, action, win)
  const worlds: World[] = []
  const reasons: string[] = []
  for (const b of branches) {
    if (b.status !== answer.status || (b.code !== undefined && answer.body?.code !== b.code)) continue
    const why = b.check?.(answer.body) ?? null
    if (why) {
      reasons.push(`${b.label}: ${why}`)
      continue
    }
    const next = clone(w)
    b.then?.(next, answer)
    worlds.push(...(b.settles ? endIfNothingHeld(next, b.settles.user, win, b.settles.reservationId) : [next]))
  }
  if (worlds.length > 0) return { worlds, mismatch: null }
  const got = `${answer.status}${answer.body?.code ? ` ${answer.body.code}` : ''}`
  return { worlds, mismatch: `got ${got}; allowed: ${branches.map((b) => b.label).join(' | ')}${reasons.length ? ` (${reasons.join('; ')})` : ''}` }
}

/**
 * Two requests of one user sent at once (on two instances): the answers must be those of one of the
 * two orders, run one after the other. Returns the worlds of every order that explains both answers.
 */
export function followEitherOrder(w: World, actions: [Action, Action], answers: [Answer, Answer], win: Window): Matched {
  const worlds: World[] = []
  const reasons: string[] = []
  for (const [i, j] of [[0, 1], [1, 0]] as const) {
    const first = follow(w, actions[i], answers[i], win)
    if (first.mismatch) {
      reasons.push(`order ${i + 1} then ${j + 1}: request ${i + 1} ${first.mismatch}`)
      continue
    }
    for (const mid of first.worlds) {
      const second = follow(mid, actions[j], answers[j], win)
      if (second.mismatch) reasons.push(`order ${i + 1} then ${j + 1}: request ${j + 1} ${second.mismatch}`)
      worlds.push(...second.worlds)
    }
  }
  return worlds.length > 0 ? { worlds, mismatch: null } : { worlds, mismatch: reasons.join('\n    ') }
}
