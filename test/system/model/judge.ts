// After every step: read what the API says (queue status of every user, balances, ledgers, reservations,
// the seat map, the operator's read-out) and compare it with the world of the model. Reads of the queue
// status go from the back of the line to the front, so an admission tick that falls between two reads
// can only make a later read show more admitted, never a FIFO violation that did not happen.
import { ADMIN_KEY } from '../../support/app'
import type { Cluster } from '../../reliability/support/cluster'
import { send } from '../../reliability/support/cluster'
import { admitUnseen, positionRange } from './rules'
import {
  EPS_MS,
  RULES,
  before,
  clone,
  current,
  eligible,
  holding,
  lingering,
  seatStates,
  soldOutNotice,
  type Session,
  type Window,
  type World,
} from './world'

export interface Read {
  win: Window
  status: number
  body: any
}

async function read(base: string, path: string, r: Parameters<typeof send>[2] = {}): Promise<Read> {
  const t0 = Date.now()
  const reply = await send(base, path, r)
  return { win: { t0, t1: Date.now() }, status: reply.status, body: reply.body }
}

export interface Snapshot {
  polls: { user: number; read: Read }[]
  balances: Read[]
  histories: Read[]
  reservations: Read[]
  seats: { user: number; read: Read } | null
  line: Read
}

/** Users in the order their queue status is read: places not waiting first, then waiting ones from the back. */
function pollOrder(w: World): number[] {
  const key = (ui: number) => {
    const s = current(w.users[ui]!)
    return s?.state === 'WAITING' ? -s.joinNo : -Infinity
  }
  return w.users.map((_, i) => i).sort((a, b) => key(a) - key(b))
}

export async function snapshot(cluster: Cluster, w: World, step: number): Promise<Snapshot> {
  const at = (i: number) => cluster.url(step + i)
  const polls: Snapshot['polls'] = []
  for (const ui of pollOrder(w)) {
    const s = current(w.users[ui]!)
    if (s) polls.push({ user: ui, read: await read(at(ui), '/v1/queue/status', { token: w.users[ui]!.token, queueToken: s.token }) })
  }
  const [balances, histories, reservations] = await Promise.all(
    ['/v1/balance', '/v1/balance/history?limit=100', '/v1/reservations?limit=100'].map((path, k) =>
      Promise.all(w.users.map((u, ui) => read(at(ui + k), path, { token: u.token }))),
    ),
  )
  // The seat map needs an ACTIVE token: any user who just read ACTIVE with time to spare.
  const reader = polls.find((p) => p.read.body?.status === 'ACTIVE' && Date.parse(p.read.body.activeUntil) > Date.now() + 500)
  const seats = reader
    ? {
        user: reader.user,
        read: await read(at(1), `/v1/schedules/${w.scheduleId}/seats`, { token: w.users[reader.user]!.token, queueToken: current(w.users[reader.user]!)!.token }),
      }
    : null
  const line = await read(at(0), `/v1/admin/concerts/${w.concertId}/queue`, { headers: { 'x-admin-key': ADMIN_KEY } })
  return { polls, balances: balances!, histories: histories!, reservations: reservations!, seats, line }
}

interface Verdict {
  world: World
  violations: string[]
}

/** The statuses the current session of a user may read during the window, before the sold-out overlay. */
function statusesOf(w: World, ui: number, s: Session, win: Window): string[] {
  switch (s.state) {
    case 'DONE':
    case 'EXPIRED':
      return [s.state]
    case 'WAITING':
      return eligible(w, win).includes(s) ? ['WAITING', 'ACTIVE'] : ['WAITING']
    case 'ACTIVE': {
      const out: string[] = []
      if (before(s.until!.hi, win) !== 'no') out.push('ACTIVE')
      // Over: a session that paid is DONE however it ended (its last hold lapsed, it ran out), else EXPIRED.
      if (before(s.until!.lo, win) !== 'yes') out.push(s.paid ? 'DONE' : 'EXPIRED')
      if (lingering(w, ui, win) && !out.includes('DONE')) out.push('DONE')
      return out
    }
  }
}

function judgePolls(w: World, next: World, snap: Snapshot, out: string[]) {
  const observed = new Map(snap.polls.map((p) => [p.user, p.read]))
  for (const { user: ui, read } of snap.polls) {
    const s = current(w.users[ui]!)!
    const mine = current(next.users[ui]!)!
    const tag = `u${ui} queue status`
    if (read.status !== 200) {
      out.push(`${tag}: HTTP ${read.status} ${read.body?.code ?? ''}`)
      continue
    }
    const got: string = read.body.status
    let allowed = statusesOf(w, ui, s, read.win)
    const liveNow: string[] = allowed.filter((x) => x === 'WAITING' || x === 'ACTIVE')
    const notice = soldOutNotice(w, read.win)
    if (liveNow.length > 0 && notice !== 'no') allowed = notice === 'yes' ? [...allowed.filter((x) => !liveNow.includes(x)), 'SOLD_OUT'] : [...allowed, 'SOLD_OUT']
    // A lapsed session of a sold-out line reads SOLD_OUT until the admission job sweeps it.
    if ((s.state === 'EXPIRED' || s.state === 'ACTIVE') && w.soldOutAt !== null && !allowed.includes('SOLD_OUT')) allowed.push('SOLD_OUT')
    if (!allowed.includes(got)) {
      const why = s.state === 'DONE' ? ' (it paid its last live hold)' : s.state === 'ACTIVE' && got === 'DONE' ? ' (nothing this user did ends it)' : ''
      out.push(`${tag}: ${got}, the model allows ${allowed.join(' or ')}${why}`)
      continue
    }
    if (got === 'WAITING') {
      const [lo, hi] = positionRange(w, s, read.win)
      // Places ahead that still read WAITING later (they are read after this one) were waiting now.
      const aheadWaiting = w.users
        .map((u, k) => ({ s: current(u), k }))
        .filter((o) => o.s?.state === 'WAITING' && o.s.joinNo < s.joinNo && observed.get(o.k)?.body?.status === 'WAITING').length
      const min = Math.max(lo, aheadWaiting + 1)
      if (!(read.body.position >= min && read.body.position <= hi)) out.push(`${tag}: position ${read.body.position}, expected ${min === hi ? min : `${min}..${hi}`}`)
      mine.seenWaitingAt = read.win.t1
    }
    if (got === 'ACTIVE') {
      const until = Date.parse(read.body.activeUntil)
      if (s.state === 'WAITING') {
        // Admitted since it was last seen: FIFO means nobody ahead of it is still waiting.
        const skipped = w.users
          .map((u, k) => ({ o: current(u), k }))
          .filter(({ o, k }) => o?.state === 'WAITING' && o.joinNo < s.joinNo && observed.get(k)?.body?.status === 'WAITING')
        if (skipped.length > 0) out.push(`${tag}: ACTIVE while u${skipped.map((x) => x.k).join(', u')} ahead of it still waits (FIFO)`)
        admitUnseen(mine, read.win)
      }
      // Not extended by a hold yet: what is read is the session's own end.
      if (!mine.extended) mine.own = { lo: until, hi: until }
      const { lo, hi } = mine.until!
      if (!(until >= lo && until <= hi)) {
        const was = lo === hi ? new Date(lo).toISOString() : `${new Date(lo).toISOString()}..${new Date(hi).toISOString()}`
        out.push(`${tag}: activeUntil ${read.body.activeUntil}, the model allows ${was}${lo === hi ? ' (nothing since the last read may move it)' : ''}`)
      }
      mine.until = { lo: until, hi: until }
    }
    if (got === 'EXPIRED' || got === 'DONE') {
      if (mine.state !== got) mine.until = null
      mine.state = got
    }
  }
  // Capacity: sessions read ACTIVE that were all live at the end of the reads.
  const end = Math.max(...snap.polls.map((p) => p.read.win.t1), 0)
  const active = snap.polls.filter((p) => p.read.body?.status === 'ACTIVE' && Date.parse(p.read.body.activeUntil) > end + EPS_MS).length
  if (active > RULES.capacity) out.push(`${active} users ACTIVE at once, capacity ${RULES.capacity}`)
}

function judgeMoney(w: World, snap: Snapshot, out: string[]) {
  w.users.forEach((u, ui) => {
    const b = snap.balances[ui]!
    if (b.status !== 200 || b.body.balance !== u.balance) out.push(`u${ui} balance: ${b.status} ${JSON.stringify(b.body)}, the model says ${u.balance}`)
    const h = snap.histories[ui]!
    if (h.status !== 200) {
      out.push(`u${ui} history: HTTP ${h.status}`)
      return
    }
    const entries: any[] = h.body.entries
    const expected = [...u.ledger].reverse()
    const got = entries.map((e) => `${e.type}:${e.amount}:${e.reservationId ?? '-'}`)
    const want = expected.map((e) => `${e.amount > 0 ? 'CHARGE' : 'PAYMENT'}:${e.amount}:${e.reservationId ?? '-'}`)
    if (got.join(' ') !== want.join(' ')) out.push(`u${ui} ledger: ${got.join(' ')}, the model says ${want.join(' ')}`)
    // balance = sum of the ledger, and every balanceAfter is the running sum, never negative.
    let running = 0
    for (const e of [...entries].reverse()) {
      running += e.amount
      if (e.balanceAfter !== running || running < 0) out.push(`u${ui} ledger entry ${e.entryId}: balanceAfter ${e.balanceAfter}, running sum ${running}`)
    }
    if (b.status === 200 && running !== b.body.balance) out.push(`u${ui}: balance ${b.body.balance} is not the sum of its ledger ${running}`)
  })
}

function judgeReservations(w: World, snap: Snapshot, out: string[]) {
  w.users.forEach((_, ui) => {
    const r = snap.reservations[ui]!
    if (r.status !== 200) {
      out.push(`u${ui} reservations: HTTP ${r.status}`)
      return
    }
    const mine = w.holds.filter((h) => h.user === ui)
    const got = new Map<string, any>((r.body as any[]).map((x) => [x.reservationId, x]))
    const known = new Set(mine.map((h) => h.id))
    for (const [id, x] of got) {
      if (!known.has(id)) out.push(`u${ui} reservations: ${id.slice(0, 8)} (seat ${x.seatNumber}, ${x.status}) is listed, but no request of this user was answered with it`)
    }
    for (const h of mine) {
      const x = got.get(h.id)
      if (!x) {
        out.push(`u${ui} reservation ${h.id} is missing`)
        continue
      }
      const live = holding(h, r.win)
      const allowed = h.state !== 'HELD' ? [h.state] : live === 'yes' ? ['HELD'] : live === 'no' ? ['EXPIRED'] : ['HELD', 'EXPIRED']
      if (!allowed.includes(x.status)) out.push(`u${ui} reservation ${h.id.slice(0, 8)} (seat ${h.seat}): ${x.status}, the model allows ${allowed.join(' or ')}`)
      if (Date.parse(x.expiresAt) !== h.expiresAt || x.seatNumber !== h.seat || x.price !== h.price) out.push(`u${ui} reservation ${h.id.slice(0, 8)} changed: ${JSON.stringify(x)}`)
    }
  })
}

function judgeSeats(w: World, snap: Snapshot, out: string[]) {
  if (!snap.seats) return
  const { user, read } = snap.seats
  if (read.status !== 200) {
    out.push(`seat map read by u${user} (ACTIVE): HTTP ${read.status} ${read.body?.code ?? ''}`)
    return
  }
  const seats = read.body as { number: number; status: string }[]
  if (seats.length !== RULES.seats) out.push(`seat map: ${seats.length} seats, expected ${RULES.seats}`)
  for (const seat of seats) {
    const allowed = seatStates(w, seat.number, read.win)
    if (!allowed.includes(seat.status as any)) out.push(`seat ${seat.number}: ${seat.status}, the model allows ${allowed.join(' or ')}`)
  }
}

export function judge(w: World, snap: Snapshot): Verdict {
  const next = clone(w)
  const out: string[] = []
  judgePolls(w, next, snap, out)
  judgeMoney(w, snap, out)
  judgeReservations(w, snap, out)
  judgeSeats(w, snap, out)
  if (snap.line.status !== 200) out.push(`line read-out: HTTP ${snap.line.status}`)
  else if (snap.line.body.active > RULES.capacity) out.push(`line read-out: ${snap.line.body.active} active, capacity ${RULES.capacity}`)
  return { world: next, violations: out }
}
