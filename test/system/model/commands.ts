// The steps fast-check strings together. A step sends its request(s) as a client would, keeps the
// worlds of the model that explain the answers (rules.ts), then reads the API (judge.ts) and keeps the
// first of those worlds that the reads agree with. No world left = a rule of PRODUCT.md was broken.
import fc from 'fast-check'
import type { Cluster } from '../../reliability/support/cluster'
import { send } from '../../reliability/support/cluster'
import { judge, snapshot } from './judge'
import { follow, followEitherOrder, type Action, type Answer, type Matched } from './rules'
import { RULES, current, eligible, summary, type Window, type World } from './world'

export interface Real {
  cluster: Cluster
  step: number
  /** One line per step, for the failure message. */
  trace: string[]
  /** Set by a step that stops right at a deadline: the next step runs there, unread. */
  atEdge: boolean
}

export interface Model {
  world: World
}

const NO_SUCH_RESERVATION = '00000000-0000-4000-8000-000000000000'

class Broken extends Error {}

function fail(model: Model, real: Real, what: string): never {
  const trace = real.trace.slice(-25).join('\n  ')
  throw new Broken(`step ${real.step}: ${what}\n\nthe model before this step:\n  ${summary(model.world)}\n\nthe last steps:\n  ${trace}`)
}

/** Reads the API and keeps the first candidate world it agrees with; fails when none does. */
async function settle(model: Model, real: Real, candidates: World[], label: string) {
  if (real.atEdge) {
    // The step ran at a deadline; reading now is still meaningful (the reads carry their own windows).
    real.atEdge = false
  }
  const snap = await snapshot(real.cluster, candidates[0]!, real.step)
  const verdicts = candidates.map((w) => judge(w, snap))
  const ok = verdicts.find((v) => v.violations.length === 0)
  if (ok) {
    model.world = ok.world
    return
  }
  const shown = verdicts.map((v, i) => `${candidates.length > 1 ? `world ${i + 1}: ` : ''}${v.violations.join('\n    ')}`).join('\n  ')
  fail(model, real, `after ${label}, the API disagrees with the model:\n  ${shown}`)
}

function request(real: Real, world: World, action: Action, inst: number): Promise<Answer> {
  const u = world.users[action.user]!
  const s = current(u)
  const queueToken = s === null ? undefined : action.kind === 'hold' && action.stale ? u.sessions.at(-2)!.token : s.token
  const url = real.cluster.url(inst)
  const reply = (() => {
    switch (action.kind) {
      case 'join':
        return send(url, '/v1/queue/tokens', { token: u.token, body: { concertId: world.concertId } })
      case 'hold':
        return send(url, '/v1/reservations', { token: u.token, queueToken, body: { scheduleId: world.scheduleId, seatNumber: action.seat } })
      case 'cancel':
        return send(url, `/v1/reservations/${action.reservationId}`, { method: 'DELETE', token: u.token })
      case 'pay':
      case 'payRetry': {
        const { reservationId, key } = action.kind === 'pay' ? action : u.lastPay!
        return send(url, '/v1/payments', { token: u.token, queueToken, body: { reservationId }, headers: key ? { 'idempotency-key': key } : {} })
      }
      case 'charge':
      case 'chargeRetry': {
        const { amount, key } = action.kind === 'charge' ? action : u.lastCharge!
        return send(url, '/v1/balance/charges', { token: u.token, body: { amount }, headers: key ? { 'idempotency-key': key } : {} })
      }
      case 'pollStale':
        return send(url, '/v1/queue/status', { token: u.token, queueToken: u.sessions.at(-2)!.token })
    }
  })()
  return reply.then((r) => ({ status: r.status, body: r.body }))
}

const show = (a: Answer) => `${a.status}${a.body?.code ? ` ${a.body.code}` : ''}`
const short = (id: string) => id.slice(0, 8)

/**
 * A reservation to aim at, by index: mostly one of the user's live holds (what a client pays or cancels),
 * else any of its own (paid, cancelled, lapsed), else anyone's; a made-up id when there is none.
 */
function target(world: World, user: number, pick: number, own: boolean): string {
  const now = Date.now()
  const mine = world.holds.filter((h) => h.user === user)
  const live = mine.filter((h) => h.state === 'HELD' && h.expiresAt > now)
  const pool = own && live.length > 0 && pick % 4 !== 0 ? live : own && mine.length > 0 ? mine : world.holds
  return pool.length === 0 ? NO_SUCH_RESERVATION : pool[pick % pool.length]!.id
}

function describe(a: Action): string {
  switch (a.kind) {
    case 'hold':
      return `u${a.user} hold seat ${a.seat}${a.stale ? ' (ended token)' : ''}`
    case 'cancel':
      return `u${a.user} cancel ${short(a.reservationId)}`
    case 'pay':
      return `u${a.user} pay ${short(a.reservationId)}${a.key ? ' (key)' : ''}`
    case 'charge':
      return `u${a.user} charge ${a.amount}${a.key ? ' (key)' : ''}`
    default:
      return `u${a.user} ${a.kind}`
  }
}

/** One request; `make` turns the generated values into an action against the model as it is now. */
class One implements fc.AsyncCommand<Model, Real> {
  private done = ''
  constructor(
    readonly name: string,
    readonly inst: number,
    readonly make: (w: World) => Action,
    readonly applicable: (w: World) => boolean = () => true,
  ) {}
  check(m: Readonly<Model>) {
    return this.applicable(m.world)
  }
  async run(model: Model, real: Real) {
    real.step++
    const action = this.make(model.world)
    const t0 = Date.now()
    const answer = await request(real, model.world, action, this.inst)
    const win: Window = { t0, t1: Date.now() }
    this.done = `${describe(action)} on #${this.inst % real.cluster.instances.length} -> ${show(answer)}`
    real.trace.push(`${real.step}. ${this.done}`)
    const matched = follow(model.world, action, answer, win)
    if (matched.mismatch) fail(model, real, `${describe(action)}: ${matched.mismatch}\n  body: ${JSON.stringify(answer.body)}`)
    await settle(model, real, matched.worlds, this.done)
  }
  toString() {
    return this.done || this.name
  }
}

/** Two requests of one user at once, on two instances: the answers must be those of one order or the other. */
class Both implements fc.AsyncCommand<Model, Real> {
  private done = ''
  constructor(
    readonly name: string,
    readonly make: (w: World) => [Action, Action],
    readonly applicable: (w: World) => boolean,
    /** A request the same client sends next, when the answers call for one. */
    readonly next?: (actions: [Action, Action], answers: [Answer, Answer]) => Action | null,
  ) {}
  check(m: Readonly<Model>) {
    return this.applicable(m.world)
  }
  async run(model: Model, real: Real) {
    real.step++
    const actions = this.make(model.world)
    const t0 = Date.now()
    const answers = (await Promise.all(actions.map((a, i) => request(real, model.world, a, i)))) as [Answer, Answer]
    const win: Window = { t0, t1: Date.now() }
    this.done = `at once: ${describe(actions[0])} -> ${show(answers[0])} | ${describe(actions[1])} -> ${show(answers[1])}`
    real.trace.push(`${real.step}. ${this.done}`)
    const matched: Matched = followEitherOrder(model.world, actions, answers, win)
    if (matched.mismatch) fail(model, real, `${this.done}: no order of the two explains the answers:\n    ${matched.mismatch}`)
    await settle(model, real, matched.worlds, this.done)
    const then = this.next?.(actions, answers)
    if (then) {
      const t1 = Date.now()
      const answer = await request(real, model.world, then, 0)
      const after = `then ${describe(then)} -> ${show(answer)}`
      this.done += `, ${after}`
      real.trace.push(`   ${after}`)
      const followed = follow(model.world, then, answer, { t0: t1, t1: Date.now() })
      if (followed.mismatch) fail(model, real, `${describe(then)}: ${followed.mismatch}\n  body: ${JSON.stringify(answer.body)}`)
      await settle(model, real, followed.worlds, after)
    }
  }
  toString() {
    return this.done || this.name
  }
}

/**
 * The admission job at work: reads the line until every waiting user within capacity is ACTIVE (at
 * least one tick long, so an admission beyond capacity would show). Fails if one waits 5 s in vain.
 */
export class Tick implements fc.AsyncCommand<Model, Real> {
  check() {
    return true
  }
  async run(model: Model, real: Real) {
    real.step++
    real.trace.push(`${real.step}. admission ticks`)
    const started = Date.now()
    for (;;) {
      await Bun.sleep(300)
      await settle(model, real, [model.world], 'an admission tick')
      const now = { t0: Date.now(), t1: Date.now() }
      const waitingInCapacity = model.world.soldOutAt === null ? eligible(model.world, now) : []
      if (waitingInCapacity.length === 0 && Date.now() - started > RULES.tickMs + 100) return
      if (Date.now() - started > 5000) {
        const who = model.world.users.flatMap((u, i) => (waitingInCapacity.includes(current(u)!) ? [`u${i}`] : []))
        fail(model, real, `${who.join(', ')} waited within capacity for 5 s and was not admitted (the slot is not given to the next person)`)
      }
    }
  }
  toString() {
    return 'admission ticks'
  }
}

/**
 * Time passes to the next deadline (a hold's expiry or a session's activeUntil): just past it, or right
 * at it (offset within a few ms either side), where the next step then runs. Long waits read the API
 * every 600 ms, as a polling client would.
 */
class Lapse implements fc.AsyncCommand<Model, Real> {
  private done = ''
  constructor(
    readonly pick: number,
    readonly offsetMs: number,
    readonly edge: boolean,
  ) {}
  check() {
    return true
  }
  async run(model: Model, real: Real) {
    real.step++
    const now = Date.now()
    const w = model.world
    const deadlines = [
      ...w.holds.filter((h) => h.state === 'HELD' && h.expiresAt > now).map((h) => ({ at: h.expiresAt, what: `hold ${short(h.id)}` })),
      ...w.users.flatMap((u, i) => {
        const s = current(u)
        return s?.state === 'ACTIVE' && s.until!.lo > now ? [{ at: s.until!.lo, what: `u${i}'s session` }] : []
      }),
    ].sort((a, b) => a.at - b.at)
    if (deadlines.length === 0) {
      this.done = 'wait 300 ms (no deadline ahead)'
      real.trace.push(`${real.step}. ${this.done}`)
      await Bun.sleep(300)
      await settle(model, real, [model.world], this.done)
      return
    }
    const d = deadlines[this.pick % deadlines.length]!
    const until = d.at + (this.edge ? this.offsetMs : 150)
    this.done = this.edge ? `wait until ${d.what} lapses ${this.offsetMs >= 0 ? '+' : ''}${this.offsetMs} ms` : `wait until ${d.what} has lapsed`
    real.trace.push(`${real.step}. ${this.done}`)
    while (until - Date.now() > 800) {
      await Bun.sleep(600)
      await settle(model, real, [model.world], `${this.done} (meanwhile)`)
    }
    await Bun.sleep(Math.max(0, until - Date.now()))
    if (this.edge) {
      real.atEdge = true
      return
    }
    await settle(model, real, [model.world], this.done)
  }
  toString() {
    return this.done || `lapse(${this.pick}, ${this.edge ? this.offsetMs : 'past'})`
  }
}

// 0-2 name a user; 3-5 name one of the users the model holds ACTIVE (a client that was admitted acts),
// so that most holds and payments reach the rules behind the queue guard.
const user = fc.integer({ min: 0, max: 5 })
/** For joining: 3-5 name one of the users with no live place (whose session ended), as a client rejoins. */
function joiner(w: World, u: number): number {
  if (u < 3) return u
  const out = w.users.flatMap((x, i) => (['DONE', 'EXPIRED'].includes(current(x)?.state ?? 'DONE') ? [i] : []))
  return out.length > 0 ? out[u % out.length]! : u - 3
}
function who(w: World, u: number): number {
  if (u < 3) return u
  const active = w.users.flatMap((x, i) => (current(x)?.state === 'ACTIVE' ? [i] : []))
  return active.length > 0 ? active[u % active.length]! : u - 3
}
const inst = fc.integer({ min: 0, max: 1 })
// Whether a request carries an Idempotency-Key; the key itself is made fresh when the step runs.
const key = fc.boolean()
const freshKey = (withKey: boolean) => (withKey ? `model-${crypto.randomUUID()}` : null)
const pick = fc.nat({ max: 7 })
const seat = fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 1, max: RULES.seats }) }, { weight: 1, arbitrary: fc.constant(RULES.seats + 1) })
const amount = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 1, max: RULES.maxCharge }) },
  { weight: 1, arbitrary: fc.constantFrom(0, -1000, 1.5, RULES.maxCharge + 1) },
)
const hasOld = (ui: number) => (w: World) => w.users[ui]!.sessions.length >= 2
/** The races are about a user with something to pay: they run when that user has made a hold. */
const holding = (n: number) => (w: World) => w.holds.some((h) => h.user === who(w, n) && h.state === 'HELD')

const step = (weight: number, arbitrary: fc.Arbitrary<fc.AsyncCommand<Model, Real>>) => ({ weight, arbitrary })

// Weights: joining, holding and paying are most of what users do; waiting costs seconds, so it is rarer.
const steps = [
  step(4, fc.record({ u: user, i: inst }).map(({ u, i }) => new One('join', i, (w) => ({ kind: 'join', user: joiner(w, u) })))),
  step(
    6,
    fc
      .record({ u: user, i: inst, seat, stale: fc.nat({ max: 5 }).map((n) => n === 0) })
      .map(({ u, i, seat, stale }) => new One('hold', i, (w) => ({ kind: 'hold', user: who(w, u), seat, stale }), stale ? (w) => hasOld(who(w, u))(w) : undefined)),
  ),
  step(
    1,
    fc
      .record({ u: user, i: inst, p: pick, own: fc.boolean() })
      .map(({ u, i, p, own }) => new One('cancel', i, (w) => ({ kind: 'cancel', user: who(w, u), reservationId: target(w, who(w, u), p, own || p % 3 !== 0) }))),
  ),
  step(
    3,
    fc
      .record({ u: user, i: inst, p: pick, k: key })
      .map(({ u, i, p, k }) => new One('pay', i, (w) => ({ kind: 'pay', user: who(w, u), reservationId: target(w, who(w, u), p, p % 5 !== 0), key: freshKey(k) }))),
  ),
  step(1, fc.record({ u: user, i: inst }).map(({ u, i }) => new One('pay again with the same key', i, (w) => ({ kind: 'payRetry', user: who(w, u) }), (w) => w.users[who(w, u)]!.lastPay !== null))),
  step(2, fc.record({ u: user, i: inst, a: amount, k: key }).map(({ u, i, a, k }) => new One('charge', i, (w) => ({ kind: 'charge', user: who(w, u), amount: a, key: freshKey(k) })))),
  step(1, fc.record({ u: user, i: inst }).map(({ u, i }) => new One('charge again with the same key', i, (w) => ({ kind: 'chargeRetry', user: who(w, u) }), (w) => w.users[who(w, u)]!.lastCharge !== null))),
  step(1, fc.record({ u: user, i: inst }).map(({ u, i }) => new One('poll an ended place', i, (w) => ({ kind: 'pollStale', user: who(w, u) }), (w) => hasOld(who(w, u))(w)))),
  // The races of issue 9: two payments at once, a payment and a hold at once, a payment and a cancel at once.
  step(
    4,
    fc.record({ n: user, a: pick, b: pick, ka: key, kb: key }).map(
      ({ n, a, b, ka, kb }) =>
        new Both('two payments at once', (w, u = who(w, n)) => [
          // Mostly two different holds (finding 1 of issue 9), sometimes the same one twice.
          { kind: 'pay', user: u, reservationId: target(w, u, a, true), key: freshKey(ka) },
          { kind: 'pay', user: u, reservationId: target(w, u, b % 5 === 0 ? a : a + 1, true), key: freshKey(kb) },
        ], holding(n)),
    ),
  ),
  step(
    3,
    fc.record({ n: user, p: pick, seat, k: key }).map(
      ({ n, p, seat, k }) =>
        new Both('a payment and a hold at once', (w, u = who(w, n)) => [
          { kind: 'pay', user: u, reservationId: target(w, u, p, true), key: freshKey(k) },
          { kind: 'hold', user: u, seat, stale: false },
        ], holding(n),
        // A hold answered 201 while the payment ran must be payable (finding 2 of issue 9): pay it at once.
        (actions, answers) => (answers[1].status === 201 ? { kind: 'pay', user: actions[1].user, reservationId: answers[1].body.reservationId, key: null } : null)),
    ),
  ),
  step(
    1,
    fc.record({ n: user, a: pick, b: pick }).map(
      ({ n, a, b }) =>
        new Both('a payment and a cancel at once', (w, u = who(w, n)) => [
          { kind: 'pay', user: u, reservationId: target(w, u, a, true), key: null },
          { kind: 'cancel', user: u, reservationId: target(w, u, b, true) },
        ], holding(n)),
    ),
  ),
  step(2, fc.constant(null).map(() => new Tick())),
  step(2, fc.record({ p: fc.nat({ max: 3 }), o: fc.integer({ min: -40, max: 40 }), edge: fc.boolean() }).map(({ p, o, edge }) => new Lapse(p, o, edge))),
]

/** fc.commands picks uniformly among its arbitraries: a step of weight n is listed n times. */
export const commands = (maxCommands: number, replayPath?: string) =>
  fc.commands(
    steps.flatMap((s) => Array.from({ length: s.weight }, () => s.arbitrary)),
    { maxCommands, replayPath, size: 'max' },
  )
