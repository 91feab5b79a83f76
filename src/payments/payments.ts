import type { Sql } from '../db/client'
import { decidedTogether } from '../db/group-commit'
import { advisoryLocks } from '../db/locks'
import { reads, statements } from '../db/statements'
import { ServiceError } from '../errors'
import {
  fingerprint,
  outcomeOfOneCall,
  PreconditionFailed,
  preconditionOrReplay,
  problemTemplates,
  type IdempotentRequest,
  type OneCallAnswer,
  type Outcome,
} from '../idempotency/idempotency'
import type { Metrics } from '../metrics/metrics'
import type { Ticket } from '../waiting-room/store'
import type { WaitingRoom } from '../waiting-room/waiting-room'
import type { Payment } from './model'

const q = statements('payments', ['pay_many'])
const read = reads('payments', ['reservation_state', 'paid_session'])

// The problems a payment decides itself and stores under its Idempotency-Key; pay_once adds the detail.
const storedProblems = problemTemplates(['ALREADY_PAID', 'HOLD_EXPIRED', 'INSUFFICIENT_BALANCE'])

const anotherConcert = () => new ServiceError('QUEUE_NOT_ACTIVE', 'The queue token is for another concert')

interface PayRow extends OneCallAnswer {
  n: number
  ends_session: boolean
  contended: boolean
}

/** The queue session a payment is made in, as its guard read it. */
export interface GuardedSession {
  /** The session (its concert, and its seq to tell whether it is over). */
  session: Ticket
  /** The end of the session's own time (null: not read). */
  ownUntilMs: number | null
  /** The store had said the session is over: the payment goes ahead only to pay a hold of it still live. */
  storeEnded: boolean
}

interface PayWanted extends GuardedSession {
  request: IdempotentRequest
  reservationId: string
  paymentId: string
  entryId: string
}

/**
 * Pays a live hold from the user's balance, and with an Idempotency-Key at most once, decided by
 * pay_many (sql/functions/pay_many.sql) as pay_once decides one: the key's lock and stored answer,
 * reservation HELD->PAID, seat HELD->SOLD, the debit, its ledger entry, the payment row and the answer
 * under the key commit together or not at all. Payments that arrive together share one call and one
 * commit (src/db/group-commit.ts); alone (a batch of one) a payment waits for a locked reservation.
 */
export function paymentCalls(sql: Sql) {
  const payMany = (batch: PayWanted[]) =>
    q.pay_many<PayRow>(sql, [
      batch.map((p) => p.request.userId),
      batch.map((p) => p.request.key ?? null),
      batch.map((p) => p.request.fingerprint),
      batch.map((p) => p.paymentId),
      batch.map((p) => p.entryId),
      batch.map((p) => p.reservationId),
      batch.map((p) => p.session.concertId),
      batch.map((p) => p.session.seq),
      batch.map((p) => (p.ownUntilMs === null ? null : new Date(p.ownUntilMs).toISOString())),
      batch.map((p) => (p.storeEnded ? 1 : 0)), // as integers: postgres.js sends an array of booleans as one boolean
      advisoryLocks.idempotencyKeys,
      storedProblems,
      batch.length === 1,
    ])

  const payTogether = decidedTogether('pay_many', payMany, (p: PayWanted) => p.request.userId)

  return {
    async pay(request: IdempotentRequest, reservationId: string, guarded: GuardedSession) {
      const row = await payTogether({ request, reservationId, ...guarded, paymentId: crypto.randomUUID(), entryId: crypto.randomUUID() })
      return { outcome: outcomeOfOneCall(request, row), endsSession: row.ends_session }
    },
  }
}

export interface PaymentRequest {
  userId: string
  queueToken: string | null
  reservationId: string
  idempotencyKey: string | undefined
}

export function payments(sql: Sql, room: WaitingRoom, metrics: Metrics) {
  const calls = paymentCalls(sql)

  /** The queue guard of a payment: an ACTIVE session of the reservation's concert, and what it read of it. */
  async function guard(userId: string, queueToken: string | null, reservationId: string): Promise<GuardedSession> {
    try {
      const { ticket, ownUntilMs } = await room.requireSessionForPayment(userId, queueToken)
      return { session: ticket, ownUntilMs, storeEnded: false }
    } catch (error) {
      // A paid reservation is ALREADY_PAID whatever state the session is in (a client retrying without
      // its key after the session ended must learn that it paid, not that it may not pay). The guard lets
      // such a payment through, and the payment itself answers it (it finds nothing HELD to pay and moves
      // nothing): the answer is then the operation's, stored under the key and replayed like any 409,
      // rather than a refusal of the guard, which is never stored.
      if (!(error instanceof ServiceError) || error.code !== 'QUEUE_NOT_ACTIVE') throw error
      const ticket = room.ticket(userId, queueToken)
      const [state] = await read.reservation_state<{ concert_id: string; status: string; in_session: boolean }>(sql, [reservationId, userId, ticket.seq])
      // Another concert's token is refused as pay_once refuses it, and never answered from a key.
      if (state && state.concert_id !== ticket.concertId) throw new PreconditionFailed(anotherConcert())
      if (state?.status === 'PAID') return { session: ticket, ownUntilMs: null, storeEnded: true }
      // A live hold of this very session, which the store says is not ACTIVE: the store has lost the
      // session (a Redis restarted empty), it did not end it - a session is extended to cover every hold
      // made in it, and an operator's end releases them. A hold answered 201 can be paid until it lapses
      // (PRODUCT.md), whatever became of the line (helper-36: 5 of 5 such holds were refused).
      // Should it be cancelled or lapse before the payment reaches it, the payment answers as the guard did.
      if (state?.status === 'HELD' && state.in_session) return { session: ticket, ownUntilMs: null, storeEnded: true }
      throw error
    }
  }

  return {
    /** Pays a hold exactly once (Idempotency-Key), then ends the queue session if nothing is left to pay. */
    async payOnce({ userId, queueToken, reservationId, idempotencyKey }: PaymentRequest): Promise<Outcome> {
      let guarded: GuardedSession | undefined
      // The queue token is verified (signed, and this user's) before anything, a replay included: the
      // stored answer answers a retry of the same request, and one with a missing, forged or someone
      // else's queue token is not that. What the store says of the session is not asked here: a retry
      // after the payment ended the session must still get its answer.
      room.ticket(userId, queueToken)
      const request = { userId, key: idempotencyKey, fingerprint: fingerprint('payment', { reservationId }) }
      const answered = await preconditionOrReplay(sql, request, async () => {
        guarded = await guard(userId, queueToken, reservationId)
      })
      let outcome: Outcome
      let endsSession = false
      if (answered) outcome = answered
      else ({ outcome, endsSession } = await calls.pay(request, reservationId, guarded!))
      if (outcome.status === 201 && !outcome.replayed) {
        metrics.payments.inc()
        metrics.paymentsWon.inc((outcome.body as Payment).amount)
        await room.paid(guarded!.session, endsSession)
      } else if (outcome.status === 201) {
        await endSessionOfReplay(userId, reservationId)
      }
      return outcome
    },
  }

  /**
   * A retry after a crash between the commit and the end of the session: the session the paid hold was
   * made in ends now, if it has ended (it paid, and nothing is left held: session_has_ended). Only that
   * session: the same key replayed later from a new session (the user joined again) must not end the new one.
   */
  async function endSessionOfReplay(userId: string, reservationId: string) {
    const [row] = await read.paid_session<{ concert_id: string; queue_seq: number | null; ends_session: boolean }>(sql, [reservationId, userId])
    if (row && row.queue_seq !== null) await room.paid({ concertId: row.concert_id, userId, seq: row.queue_seq }, row.ends_session)
  }
}

export type Payments = ReturnType<typeof payments>
