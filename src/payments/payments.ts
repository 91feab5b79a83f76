import type { Db } from '../db/client'
import { statements } from '../db/statements'
import { Problem } from '../http/problems'

const q = statements('payments', ['pay', 'reservation_state', 'paid_session'])

export interface Payment {
  paymentId: string
  reservationId: string
  amount: number
  balance: number
  status: 'PAID'
}

interface PayRow {
  paid: boolean
  price: number | null
  balance: number | null
  payment_id: string | null
  other_live_holds: number
}

// Thrown inside a savepoint to roll it back; carries the answer out.
class Declined extends Error {
  constructor(readonly problem: Problem) {
    super(problem.message)
  }
}

async function explain(db: Db, reservationId: string, userId: string, concertId: string): Promise<Problem> {
  const [state] = await q.reservation_state<{ concert_id: string; status: string }>(db, [reservationId, userId])
  if (!state) return new Problem('NOT_FOUND', 'No such reservation')
  if (state.concert_id !== concertId) return new Problem('QUEUE_NOT_ACTIVE', 'The queue token is for another concert')
  if (state.status === 'PAID') return new Problem('ALREADY_PAID', 'This reservation is already paid')
  return new Problem('HOLD_EXPIRED', `The hold is ${state.status}; hold the seat again`)
}

// pay_reservation raises P0001 with one of these as its message when it undid a payment.
function declinedBy(error: unknown): Problem | null {
  const { code, message, detail } = error as { code?: string; message?: string; detail?: string }
  if (code !== 'P0001') return null
  if (message === 'HOLD_EXPIRED') return new Problem('HOLD_EXPIRED', 'The hold has lapsed')
  if (message === 'INSUFFICIENT_BALANCE') return new Problem('INSUFFICIENT_BALANCE', `The balance is lower than the price ${detail}`)
  return null
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
        const problem = declinedBy(error)
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

/** For a replayed payment: the concert it paid for and the user's other live holds there, if it is PAID. */
export async function paidSession(db: Db, userId: string, reservationId: string) {
  const [row] = await q.paid_session<{ concert_id: string; other_live_holds: number }>(db, [reservationId, userId])
  return row ? { concertId: row.concert_id, otherLiveHolds: row.other_live_holds } : null
}
