import type { Db, Tx } from '../db/client'
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
  seat_sold: boolean
  price: number | null
  balance: number | null
  payment_id: string | null
  other_live_holds: number
}

// Thrown inside the payment's transaction to roll it back; carries the answer out.
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

/**
 * Pays a live hold from the user's balance: reservation HELD->PAID, seat HELD->SOLD, the debit, its ledger
 * entry and the payment row commit together or not at all. Runs in its own transaction, or in a savepoint
 * when `db` already is one (the idempotency wrapper's).
 */
export async function pay(db: Db, userId: string, reservationId: string, concertId: string) {
  const attempt = async (tx: Tx) => {
    const [row] = await q.pay<PayRow>(tx, [crypto.randomUUID(), crypto.randomUUID(), reservationId, userId, concertId])
    if (row!.payment_id) return row!
    if (!row!.paid) throw new Declined(await explain(tx, reservationId, userId, concertId))
    if (!row!.seat_sold) throw new Declined(new Problem('HOLD_EXPIRED', 'The hold has lapsed'))
    throw new Declined(new Problem('INSUFFICIENT_BALANCE', `The balance is lower than the price ${row!.price}`))
  }
  try {
    const row = ('savepoint' in db ? await db.savepoint(attempt) : await db.begin(attempt)) as PayRow
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
