import type { Db, Sql } from '../db/client'
import { declineOf } from '../db/declines'
import { statements } from '../db/statements'
import { ServiceError } from '../errors'
import { fingerprint, idempotently, type Outcome } from '../idempotency/idempotency'
import type { Metrics } from '../metrics/metrics'
import type { Ticket } from '../waiting-room/store'
import type { WaitingRoom } from '../waiting-room/waiting-room'
import type { Payment } from './model'

const q = statements('payments', ['pay', 'reservation_state', 'paid_session'])

interface PayRow {
  paid: boolean
  price: number | null
  balance: number | null
  payment_id: string | null
  other_live_holds: number
}

// Thrown inside a savepoint to roll it back; carries the answer out.
class Declined extends Error {
  constructor(readonly problem: ServiceError) {
    super(problem.message)
  }
}

async function explain(db: Db, reservationId: string, userId: string, concertId: string): Promise<ServiceError> {
  const [state] = await q.reservation_state<{ concert_id: string; status: string }>(db, [reservationId, userId])
  if (!state) return new ServiceError('NOT_FOUND', 'No such reservation')
  if (state.concert_id !== concertId) return new ServiceError('QUEUE_NOT_ACTIVE', 'The queue token is for another concert')
  if (state.status === 'PAID') return new ServiceError('ALREADY_PAID', 'This reservation is already paid')
  return new ServiceError('HOLD_EXPIRED', `The hold is ${state.status}; hold the seat again`)
}

function declined(error: unknown): ServiceError | null {
  const found = declineOf(error)
  if (!found) return null
  if (found.decline === 'HOLD_EXPIRED') return new ServiceError('HOLD_EXPIRED', 'The hold has lapsed')
  return new ServiceError('INSUFFICIENT_BALANCE', `The balance is lower than the price ${found.detail}`)
}

/**
 * Pays a live hold from the user's balance: reservation HELD->PAID, seat HELD->SOLD, the debit, its ledger
 * entry and the payment row commit together or not at all (one call of pay_reservation). Inside the
 * idempotency wrapper's transaction it runs in a savepoint, so a declined payment leaves that
 * transaction usable for storing the answer.
 */
export async function pay(db: Db, userId: string, reservationId: string, concertId: string) {
  const attempt = async (tx: Db) => {
    const rows = await q
      .pay<PayRow>(tx, [crypto.randomUUID(), crypto.randomUUID(), reservationId, userId, concertId])
      .catch((error: unknown) => {
        const problem = declined(error)
        throw problem ? new Declined(problem) : error
      })
    const row = rows[0]!
    if (!row.paid) throw new Declined(await explain(tx, reservationId, userId, concertId))
    return row
  }
  try {
    const row = ('savepoint' in db ? await db.savepoint(attempt) : await attempt(db)) as PayRow
    const payment: Payment = {
      paymentId: row.payment_id!,
      reservationId,
      amount: row.price!,
      balance: row.balance!,
      status: 'PAID',
    }
    return { payment, otherLiveHolds: row.other_live_holds }
  } catch (error) {
    if (error instanceof Declined) throw error.problem
    throw error
  }
}

export interface PaymentRequest {
  userId: string
  queueToken: string | null
  reservationId: string
  idempotencyKey: string | undefined
}

export function payments(sql: Sql, room: WaitingRoom, metrics: Metrics) {
  /** The queue guard of a payment: a live session of the reservation's concert (ACTIVE, or DONE). */
  async function guard(userId: string, queueToken: string | null, reservationId: string): Promise<Ticket> {
    try {
      return await room.requireSessionForPayment(userId, queueToken)
    } catch (error) {
      // A paid reservation is ALREADY_PAID whatever state the session is in (a client retrying without
      // its key after the session ended must learn that it paid, not that it may not pay). The guard lets
      // such a payment through, and the payment itself answers it (it finds nothing HELD to pay and moves
      // nothing): the answer is then the operation's, stored under the key and replayed like any 409,
      // rather than a refusal of the guard, which is never stored.
      if (!(error instanceof ServiceError) || error.code !== 'QUEUE_NOT_ACTIVE') throw error
      const ticket = room.ticket(userId, queueToken)
      const [state] = await q.reservation_state<{ concert_id: string; status: string }>(sql, [reservationId, userId])
      if (state?.status === 'PAID' && state.concert_id === ticket.concertId) return ticket
      throw error
    }
  }

  return {
    /** Pays a hold exactly once (Idempotency-Key), then ends the queue session if nothing is left to pay. */
    async payOnce({ userId, queueToken, reservationId, idempotencyKey }: PaymentRequest): Promise<Outcome> {
      let ticket: Ticket | undefined
      let otherLiveHolds = 0
      const outcome = await idempotently(
        sql,
        { userId, key: idempotencyKey, fingerprint: fingerprint('payment', { reservationId }) },
        async () => {
          ticket = await guard(userId, queueToken, reservationId)
        },
        async (db) => {
          const paid = await pay(db, userId, reservationId, ticket!.concertId)
          otherLiveHolds = paid.otherLiveHolds
          return { status: 201, body: paid.payment }
        },
      )
      if (outcome.status === 201 && !outcome.replayed) {
        metrics.payments.inc()
        metrics.paymentsWon.inc((outcome.body as Payment).amount)
        await room.paid(ticket!, otherLiveHolds)
      } else if (outcome.status === 201) {
        await endSessionOfReplay(userId, reservationId)
      }
      return outcome
    },
  }

  /**
   * A retry after a crash between the commit and the end of the session: the session the paid hold was
   * made in ends now, if nothing is left to pay. Only that session: the same key replayed later from a
   * new session (the user joined again) must not end the new one.
   */
  async function endSessionOfReplay(userId: string, reservationId: string) {
    const [row] = await q.paid_session<{ concert_id: string; queue_seq: number | null; other_live_holds: number }>(sql, [reservationId, userId])
    if (row && row.queue_seq !== null) await room.paid({ concertId: row.concert_id, userId, seq: row.queue_seq }, row.other_live_holds)
  }
}

export type Payments = ReturnType<typeof payments>
