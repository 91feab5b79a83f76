import type { Catalogue } from '../catalogue/catalogue'
import { ServiceError } from '../errors'
import type { QueueTokens } from './queue-token'
import type { QueueStatus } from './model'
import { markSoldOut } from './admission'
import { queueStatus } from './queue-status'
import type { Settings } from './settings'
import { statusPush } from './status-push'
import type { LineLimits, SessionView, Ticket, WaitingRoomStore } from './store'

export interface WaitingRoomDeps {
  store: WaitingRoomStore
  tokens: QueueTokens
  catalogue: Catalogue
  settings: Settings
  /** The seqs of those of `sessions` (places in one concert) that paid for a seat (the booking tables). */
  sessionsThatPaid: (concertId: string, sessions: Ticket[]) => Promise<Set<number>>
  log?: (entry: Record<string, unknown>) => void
  /** How often pushed status asks the store about watched places (the admission tick by default). */
  pushTickMs?: number
}

// How long an instance trusts an ACTIVE answer for catalogue reads before asking the store again.
// Holds and payments always ask the store, so a user who paid or lapsed cannot book on an old token; a
// hold of a trusted session asks it once, after the seat is held, instead of before and after (on the
// Postgres store the hold's own statement asks it: sessionTtlForHolds).
const READ_TRUST_MS = 30_000
const READ_CACHE_LIMIT = 100_000
// A hold extends the session a little past the hold's own expiry (Postgres' clock), so that a skew
// between the database's and the queue store's clocks never strands a hold; little, as the session is
// ACTIVE with nothing to pay for that long once the hold lapses.
export const HOLD_MARGIN_MS = 1_000
// How much later than this instance's clock says a hold may turn out to end (the database's clock, the
// batch it waits for) and still be confirmed by the store's answer asked ahead of it (checkAheadOfHold).
const AHEAD_SLACK_MS = 1_000

/** The store's answer for a session, asked while its hold is being decided (checkAheadOfHold). */
export interface HoldCheck {
  /** The time the session was asked to last until: a hold ending (with its margin) by then is covered. */
  untilMs: number
  view: Promise<SessionView>
}

function notActive(view: SessionView): ServiceError {
  return new ServiceError('QUEUE_NOT_ACTIVE', `The queue session is ${view.status}, not ACTIVE`)
}

/**
 * Runs `check` for a concert after every sale without running it once per sale: one check per concert
 * at a time, and sales that land while it runs share the one run again right after it. Every sale is
 * followed by a check that started after it, so the last seat is always seen; under load the database
 * answers one sold-out query per round trip instead of one per payment.
 */
export function afterEverySale(check: (concertId: string) => Promise<void>) {
  const running = new Map<string, { again: boolean }>()
  return {
    after(concertId: string) {
      const run = running.get(concertId)
      if (run) {
        run.again = true
        return
      }
      const state = { again: false }
      running.set(concertId, state)
      void (async () => {
        try {
          do {
            state.again = false
            await check(concertId)
          } while (state.again)
        } finally {
          running.delete(concertId)
        }
      })()
    },
  }
}

/** One session of one line, as a key of the maps that remember sessions. */
const sessionKey = (t: Ticket) => `${t.concertId}:${t.seq}`

const FINISH_RETRY_MS = 1000
const UNFINISHED_LIMIT = 100_000

/** Sessions to end in the store, told again every second until it hears (see sessionPaid). */
function retriedFinishes(store: WaitingRoomStore, log: (entry: Record<string, unknown>) => void) {
  const waiting = new Map<string, Ticket>()
  // A round is due (timer) or under way (running): one at a time.
  let timer: ReturnType<typeof setTimeout> | null = null
  let running = false
  let stopped = false
  async function retry() {
    timer = null
    running = true
    for (const [key, ticket] of waiting) {
      // A store still down fails at once (redis-store.ts pauses after a failure); on a cluster only the
      // lines of the master that is down wait for the next round.
      await store.finish(ticket).then(
        () => waiting.delete(key),
        () => {},
      )
    }
    running = false
    if (waiting.size > 0) schedule()
    else log({ level: 'info', msg: 'the queue store heard of every session that paid' })
  }
  function schedule() {
    if (stopped || timer || running) return
    timer = setTimeout(() => void retry(), FINISH_RETRY_MS)
    timer.unref?.()
  }
  return {
    add(ticket: Ticket) {
      if (waiting.size >= UNFINISHED_LIMIT) return
      waiting.set(sessionKey(ticket), ticket)
      schedule()
    },
    stop() {
      stopped = true
      if (timer) clearTimeout(timer)
      timer = null
    },
  }
}

export function waitingRoom({ store, tokens, catalogue, settings, sessionsThatPaid, log = () => {}, pushTickMs = 1000 }: WaitingRoomDeps) {
  const limitsOf = (concertId: string) => settings.limitsFor(concertId)

  /**
   * What people are told of their places: the store's views, except that a session which paid for a seat
   * reads DONE once it is over (PRODUCT.md: "DONE: the user paid"). The store ends a session as DONE when
   * a payment or a cancel leaves nothing to pay, but a session that paid one hold and let another lapse
   * runs out in the store when that hold lapses (it lasts just past it), and an admission step may drop
   * it before the lapse job tells the store: it read EXPIRED, for good (helper-41: up to 95 of 160 such
   * sessions on Redis, 55 of 120 on the Postgres store; also an operator's end racing the payment). The
   * booking tables know whether it paid; they are asked only about places the store says are EXPIRED.
   */
  async function asTold(concertId: string, tickets: Ticket[], read: SessionView[]): Promise<SessionView[]> {
    const over = tickets.filter((_, i) => read[i]!.status === 'EXPIRED')
    if (over.length === 0) return read
    const paid = await sessionsThatPaid(concertId, over)
    return read.map((view, i) => (view.status === 'EXPIRED' && paid.has(tickets[i]!.seq) ? { ...view, status: 'DONE' } : view))
  }
  const views = {
    async poll(ticket: Ticket, limits: LineLimits): Promise<SessionView> {
      return (await asTold(ticket.concertId, [ticket], [await store.poll(ticket, limits)]))[0]!
    },
    async pollMany(concertId: string, tickets: Ticket[], limits: LineLimits): Promise<SessionView[]> {
      const read = await asTold(concertId, tickets, await store.pollMany(concertId, tickets, limits))
      read.forEach((view, i) => trust(tickets[i]!, view)) // what the watchers are told, the catalogue goes by
      return read
    },
  }
  const push = statusPush({ views, limitsOf, describe: queueStatus, tickMs: pushTickMs, log })
  // An ACTIVE answer of the store, trusted until `until`; `ownUntil` is the session's own time (fixed at admission).
  const trusted = new Map<string, { until: number; ownUntil: number | null }>()
  // A fresher read that is not ACTIVE ends the trust at once: the instance that answered a poll DONE went
  // on answering the catalogue for that token from its earlier ACTIVE read (helper-60: for up to 6 s).
  const trust = (ticket: Ticket, view: SessionView) => {
    if (view.status !== 'ACTIVE' || view.activeUntilMs === null) return void distrust(ticket)
    if (trusted.size >= READ_CACHE_LIMIT) trusted.clear()
    const key = sessionKey(ticket)
    // A session's own time is fixed at admission: a view that does not carry it (a poll's) keeps the one known.
    const ownUntil = view.ownUntilMs ?? trusted.get(key)?.ownUntil ?? null
    trusted.set(key, { until: Math.min(view.activeUntilMs, Date.now() + READ_TRUST_MS), ownUntil })
  }
  const distrust = (ticket: Ticket) => trusted.delete(sessionKey(ticket))
  const pastOwnTime = () => new ServiceError('QUEUE_NOT_ACTIVE', "The session's time is over; it lasts only to pay the seats already held")

  // Sessions that paid and have nothing left, which the store could not be told of (it was down or
  // hung): told again every second until it hears, so that the session reads DONE and its slot goes to
  // the next person once the store is back, not at the end of the session's time (helper-51: a payment
  // answered 201 while a cluster master was paused, and its session read ACTIVE with nothing held for
  // the 40 s watched). Ending a session twice changes nothing, and no hold is made in a session that paid
  // and has nothing left (sql/functions/session_has_ended.sql), so a late end is still right. Kept in
  // this instance's memory: if it stops first, the session ends at its time, as before.
  const unfinished = retriedFinishes(store, log)

  const soldOutCheck = afterEverySale((concertId) =>
    markSoldOut(catalogue, store, [concertId]).then(
      () => {},
      (error) => log({ level: 'warn', msg: 'sold-out check failed', concertId, error: String(error) }),
    ),
  )

  // A line this instance has not met is read before it answers a status for it (settings.know), so that
  // the first read after a creation elsewhere says when the sale opens. The read is once per line; if the
  // database cannot be asked, the answer goes on with what this instance has (the Redis store answers
  // status without the database).
  const knowLine = (concertId: string) =>
    settings.know(concertId)?.catch((error) =>
      log({ level: 'warn', msg: 'could not read the settings of a line; answering with the ones this instance has', concertId, error: String(error) }),
    )

  function ticketFor(userId: string, token: string | null | undefined, concertId?: string): Ticket {
    const ticket = tokens.verify(token, userId)
    if (concertId !== undefined && ticket.concertId !== concertId) {
      throw new ServiceError('QUEUE_NOT_ACTIVE', 'The queue token is for another concert')
    }
    return ticket
  }

  return {
    push,

    /** Verifies a queue token (401 if forged or someone else's) without asking the store. */
    ticket(userId: string, token: string | null | undefined): Ticket {
      return ticketFor(userId, token)
    },

    async join(userId: string, concertId: string) {
      if (!(await catalogue.concertExists(concertId))) throw new ServiceError('NOT_FOUND', 'No such concert')
      // Not knowLine: a join placed without the line's opening would keep the wrong place for good, so a
      // settings read that fails fails the join (503).
      const reading = settings.know(concertId)
      if (reading) await reading
      const limits = limitsOf(concertId)
      const joined = await store.join(concertId, userId, limits)
      if (joined === 'SOLD_OUT') throw new ServiceError('SOLD_OUT', 'Every seat of this concert is sold')
      const ticket = { concertId, userId, seq: joined.seq }
      return { created: joined.created, body: { ...queueStatus(concertId, joined.view, limits), token: tokens.sign(ticket) } }
    },

    async status(userId: string, token: string | null | undefined): Promise<QueueStatus> {
      const ticket = ticketFor(userId, token)
      const reading = knowLine(ticket.concertId)
      if (reading) await reading
      const limits = limitsOf(ticket.concertId)
      const view = await views.poll(ticket, limits)
      trust(ticket, view)
      return queueStatus(ticket.concertId, view, limits)
    },

    /**
     * Opens pushed status for the place a queue token names; the token alone is the credential. The
     * first event is read now (and is the heartbeat of a waiting place), so a reconnect resumes at once.
     * A client that heard the stream's end (`heardEnd`: status-push.ts) gets null: nothing more to say.
     */
    async watch(token: string | null | undefined, beforeRead: (ticket: Ticket) => void = () => {}, heardEnd = false) {
      const ticket = tokens.open(token)
      if (heardEnd) return null
      beforeRead(ticket)
      if (!push.hasRoom()) {
        throw new ServiceError('SERVICE_UNAVAILABLE', 'This instance has no room for another status stream; poll instead', { retryAfterSeconds: 5 })
      }
      const reading = knowLine(ticket.concertId)
      if (reading) await reading
      const limits = limitsOf(ticket.concertId)
      const view = await views.poll(ticket, limits)
      trust(ticket, view)
      return { ticket, stream: push.open(ticket, queueStatus(ticket.concertId, view, limits)) }
    },

    /** Catalogue reads: an ACTIVE token of this concert; answered from memory while recently confirmed. */
    async requireActiveForRead(userId: string, token: string | null | undefined, concertId: string): Promise<Ticket> {
      const ticket = ticketFor(userId, token, concertId)
      const known = trusted.get(sessionKey(ticket))
      if (known !== undefined && known.until > Date.now()) return ticket
      const view = await store.check(ticket, limitsOf(concertId))
      if (view.status !== 'ACTIVE') throw notActive(view)
      trust(ticket, view)
      return ticket
    },

    /**
     * The queue guard of a hold, in one of two orders. A session this instance saw ACTIVE moments ago,
     * within its own time, is not asked before the hold (`checked: false`): the store is asked once,
     * after the seat is held, and that one answer both decides and extends (holdMade). Any other session
     * is checked first (requireActiveForHold), so a user who is not admitted never writes to the database.
     */
    async guardHold(userId: string, token: string | null | undefined, concertId: string): Promise<{ ticket: Ticket; checked: boolean }> {
      const ticket = ticketFor(userId, token, concertId)
      const known = trusted.get(sessionKey(ticket))
      const now = Date.now()
      if (known !== undefined && known.until > now && (known.ownUntil === null || now < known.ownUntil)) return { ticket, checked: false }
      return { ticket: await this.requireActiveForHold(userId, token, concertId), checked: true }
    },

    /**
     * Holds: ACTIVE, checked live. The session is extended only once the hold is made (holdMade), so a
     * refused hold extends nothing.
     */
    async requireActiveForHold(userId: string, token: string | null | undefined, concertId: string, ahead: HoldCheck | null = null): Promise<Ticket> {
      const ticket = ticketFor(userId, token, concertId)
      const view = ahead !== null ? await ahead.view : await store.check(ticket, limitsOf(concertId))
      if (view.status !== 'ACTIVE') {
        distrust(ticket)
        throw notActive(view)
      }
      trust(ticket, view)
      // Past its own time a session lives on only to pay the holds it has: a new hold would keep it
      // alive without end (hold, let it lapse, hold again).
      if (view.ownUntilMs !== null && Date.now() >= view.ownUntilMs) throw pastOwnTime()
      return ticket
    },

    /**
     * The session TTL of the line when its sessions are kept in the booking database (the Postgres
     * store; stores.ts gives it the booking connection): a hold then checks its session and extends it in
     * its own statement and commit (sql/functions/hold_seats.sql), by the rule holdMade applies, and
     * holdMade is not asked. Null for a Redis store. Measured over the bench's hold row, one instance
     * switching every 2 s: 1,101 -> 1,534 holds/s, Postgres CPU 820 -> 561 us a hold
     * (test/tools/bench/HISTORY.md, stop 31).
     */
    sessionTtlForHolds(concertId: string): number | null {
      return store.kind === 'postgres' ? limitsOf(concertId).activeTtlSeconds : null
    },

    /**
     * The store asked about a session this instance trusts while its hold is being decided, instead of
     * after it: the one round trip to the store no longer waits on Postgres's. Only for a hold that ends,
     * by this instance's clock with AHEAD_SLACK_MS to spare, within the session's own time: a live session
     * lasts at least that long (neither a cancel nor anything else shortens it below its own time), so
     * asking to extend it to then extends nothing, whether or not the hold is made, and is the live check
     * holdMade would make after it. What ends a session in the meantime is decided by Postgres under the
     * user's lock either way: a payment's end, or an operator's, refuses the hold there or releases it
     * (sql/functions/hold_seats.sql). Null when the hold is to be confirmed after it is made.
     */
    checkAheadOfHold(ticket: Ticket, holdTtlMs: number): HoldCheck | null {
      const ownUntil = trusted.get(sessionKey(ticket))?.ownUntil ?? null
      const untilMs = Date.now() + holdTtlMs + HOLD_MARGIN_MS + AHEAD_SLACK_MS
      if (ownUntil === null || untilMs > ownUntil) return null
      const view = store.extend(ticket, untilMs, limitsOf(ticket.concertId))
      // Read by holdMade or by the refusal of the hold; a hold that failed otherwise leaves it unread.
      view.catch(() => {})
      return { untilMs, view }
    },

    /**
     * A hold was made in this session: the session lasts until the hold can no longer be paid. Returns
     * null when it does, else why the hold must be undone, as it could not be paid: the session is no
     * longer ACTIVE (it ran out, an operator ended it, or a payment's end of it reached the store first),
     * or it is past its own time, where the store does not extend it (a session seen ACTIVE moments ago
     * is not checked before the hold: this is where its own time is enforced; helper-34 kept a session
     * alive by holding, cancelling and holding again). A payment that ended the session decided so
     * before this hold, under the same user lock, and the hold itself already refuses such a session
     * (sql/functions/hold_seats.sql); this is the look at the store's side of it.
     */
    async holdMade(ticket: Ticket, holdExpiresAtMs: number, ahead: HoldCheck | null = null): Promise<ServiceError | null> {
      const until = holdExpiresAtMs + HOLD_MARGIN_MS
      const view = ahead !== null && until <= ahead.untilMs ? await ahead.view : await store.extend(ticket, until, limitsOf(ticket.concertId))
      if (view.status !== 'ACTIVE') {
        distrust(ticket)
        return new ServiceError('QUEUE_NOT_ACTIVE', 'The queue session ended while the seat was being held')
      }
      trust(ticket, view)
      if (view.activeUntilMs === null || view.activeUntilMs < until) return pastOwnTime()
      return null
    },

    /**
     * A hold of this session was cancelled: the session lasts no longer than its own time or what the
     * user's other live holds need. The cancel has committed; if the store cannot be told, the session
     * runs to the end it had.
     */
    async holdReleased(ticket: Ticket, liveUntilMs: number | null) {
      const until = liveUntilMs === null ? 0 : liveUntilMs + HOLD_MARGIN_MS
      await store.shrink(ticket, until, limitsOf(ticket.concertId)).catch((error) =>
        log({ level: 'warn', msg: 'could not shorten the queue session after a cancel', concertId: ticket.concertId, error: String(error) }),
      )
    },

    /**
     * Payments: the session is checked live and must be ACTIVE (PRODUCT.md: an ACTIVE token of its
     * concert). A session ends (DONE) only once it paid and nothing is left held in it, and a hold of it
     * decided after that is refused, so a DONE session has nothing left to pay: its token must not pay a
     * hold of another session (a later one, or one an operator ended). What it did pay is answered by the
     * payment guard's fallback (payments.ts): ALREADY_PAID, or with the original key the stored answer.
     */
    async requireSessionForPayment(userId: string, token: string | null | undefined): Promise<{ ticket: Ticket; ownUntilMs: number | null }> {
      const ticket = ticketFor(userId, token)
      const view = await store.check(ticket, limitsOf(ticket.concertId))
      if (view.status !== 'ACTIVE') throw notActive(view)
      return { ticket, ownUntilMs: view.ownUntilMs }
    },

    /**
     * The user's session has nothing left to pay (a payment or a cancel found no other live hold of a
     * session that paid): it ends as DONE and its slot goes to the next person. The payment or cancel
     * has committed, so its answer stands whatever happens here: if the store cannot be told now, it is
     * told again every second until it hears (`unfinished`; the session ends at its TTL if this instance
     * stops first).
     */
    async sessionPaid(ticket: Ticket) {
      distrust(ticket)
      await store.finish(ticket).catch((error) => {
        log({ level: 'warn', msg: 'could not end the queue session after a payment; telling the store again every second', concertId: ticket.concertId, error: String(error) })
        unfinished.add(ticket)
      })
    },

    /**
     * An operator ended this session (the store has ended it): this instance stops answering catalogue
     * reads from its word at once; others stop within READ_TRUST_MS (helper-58: the instance that ended
     * it answered seat maps for 30 s more). Holds and payments are refused at once everywhere: the end is
     * recorded where they are decided.
     */
    sessionEnded: (ticket: Ticket) => void distrust(ticket),

    /** Stops telling the store of sessions it could not be told of (the instance is shutting down). */
    stop: () => unfinished.stop(),

    /** After a payment: the session is DONE if the payment ended it (the user has no other live hold in this concert). */
    async paid(ticket: Ticket, endsSession: boolean) {
      if (endsSession) await this.sessionPaid(ticket)
      // The sale may have been the last seat: tell the line now rather than at the next tick.
      soldOutCheck.after(ticket.concertId)
    },
  }
}

export type WaitingRoom = ReturnType<typeof waitingRoom>
