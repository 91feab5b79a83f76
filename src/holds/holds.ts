import type { Sql } from '../db/client'
import { decidedTogether } from '../db/group-commit'
import { reads, statements, theRow } from '../db/statements'
import { ServiceError } from '../errors'
import type { Ticket } from '../waiting-room/store'
import { HOLD_MARGIN_MS } from '../waiting-room/waiting-room'
import type { Reservation, ReservationStatus } from './model'

const q = statements('holds', ['hold_seats', 'undo_hold', 'session_has_ended', 'cancel_hold', 'lapse_holds', 'end_session_holds'])
const read = reads('holds', ['get_reservation', 'list_reservations', 'sessions_that_paid'])

interface ReservationRow {
  reservation_id: string
  schedule_id: string
  seat_number: number
  price: number
  status: ReservationStatus
  expires_at: Date
  created_at: Date
}

interface CancelRow extends ReservationRow {
  concert_id: string
  queue_seq: number | null
  live_until: Date | null
  ends_session: boolean
}

export interface Released {
  reservation: Reservation
  /** The queue session the hold was made in, if known. */
  session: Ticket | null
  /** The session paid and now has no live hold left: nothing remains to pay, so it ends. */
  endsSession: boolean
  /** When the user's last remaining live hold in that concert lapses; null if none is left. */
  liveUntilMs: number | null
}

export function toReservation(r: ReservationRow): Reservation {
  return {
    reservationId: r.reservation_id,
    scheduleId: r.schedule_id,
    seatNumber: r.seat_number,
    price: r.price,
    status: r.status,
    expiresAt: r.expires_at.toISOString(),
    createdAt: r.created_at.toISOString(),
  }
}

export interface HoldRules {
  holdTtlSeconds: number
  maxHoldsPerUser: number
}

interface HoldWanted {
  reservationId: string
  userId: string
  scheduleId: string
  seatNumber: number
  queueSeq: number
  /** The line's session TTL when the queue sessions are kept in this database (the Postgres store), else null. */
  sessionTtl: number | null
}

interface HoldRow extends Partial<ReservationRow> {
  n: number
  live_holds: number
  seat_exists: boolean
  session_ended: boolean
  contended: boolean
  session_inactive: boolean
}

export function holds(sql: Sql, rules: HoldRules) {
  // One call of hold_seats for a batch; alone (a batch of one) a hold waits for a locked seat.
  const holdSeats = (batch: HoldWanted[]) =>
    q.hold_seats<HoldRow>(sql, [
      batch.map((h) => h.reservationId),
      batch.map((h) => h.userId),
      batch.map((h) => h.scheduleId),
      batch.map((h) => h.seatNumber),
      batch.map((h) => h.queueSeq),
      rules.holdTtlSeconds,
      rules.maxHoldsPerUser,
      batch.length === 1,
      batch.map((h) => h.sessionTtl),
      HOLD_MARGIN_MS,
    ])

  // Holds that arrive together share one call and one commit (src/db/group-commit.ts): under load a
  // hold's cost is mostly its transaction, not its statements (sql/functions/hold_seats.sql).
  const holdTogether = decidedTogether('hold_seats', holdSeats, (h: HoldWanted) => h.userId)

  function decided(row: HoldRow): Reservation {
    if (row.reservation_id) return toReservation(row as ReservationRow)
    // The details name no input (PRODUCT.md: no echo of it in production); the client knows what it asked for.
    if (row.session_ended) throw new ServiceError('QUEUE_NOT_ACTIVE', 'The queue session is over: it paid and has nothing left held, or an operator ended it')
    if (row.session_inactive) throw new ServiceError('QUEUE_NOT_ACTIVE', "The queue session is not active, or past its own time: it lasts only to pay the seats already held")
    if (!row.seat_exists) throw new ServiceError('NOT_FOUND', 'The schedule has no such seat')
    if (row.live_holds >= rules.maxHoldsPerUser) {
      throw new ServiceError('HOLD_LIMIT_REACHED', `At most ${rules.maxHoldsPerUser} live holds per user`)
    }
    throw new ServiceError('SEAT_UNAVAILABLE', 'The seat is held or sold')
  }

  return {
    /** How long a hold lasts from when it is made. */
    holdTtlMs: rules.holdTtlSeconds * 1000,

    /**
     * The hold itself: decided by hold_seats, in a batch with others that arrive together. With
     * `sessionTtl` (the queue sessions are kept in this database) the hold also checks its session and
     * extends it to cover the hold, in the same statement.
     */
    async hold(userId: string, scheduleId: string, seatNumber: number, queueSeq: number, sessionTtl: number | null = null): Promise<Reservation> {
      return decided(await holdTogether({ reservationId: crypto.randomUUID(), userId, scheduleId, seatNumber, queueSeq, sessionTtl }))
    },

    /**
     * Takes back a hold that must not stand, leaving no trace of it (one call of undo_hold), and says
     * whether its session is now over: a payment of the session's other hold that ran while this one was
     * live did not end the session, as this hold was still to pay; with it gone, nothing may be left to
     * pay. Asked under the user's lock the undo took, so no hold, payment or cancel of the user comes
     * between the two (the model-based test on the Postgres store, one run in 128: ACTIVE with nothing held).
     */
    async undo(userId: string, reservationId: string, session: Ticket): Promise<{ endsSession: boolean }> {
      return sql.begin(async (tx) => {
        await q.undo_hold(tx, [reservationId, userId])
        const [row] = await q.session_has_ended<{ ended: boolean }>(tx, [userId, session.concertId, session.seq])
        return { endsSession: row?.ended === true }
      }) as Promise<{ endsSession: boolean }>
    },

    /** Releases a live hold (one call of cancel_hold); undefined when it is not a live hold of this user. */
    async release(userId: string, reservationId: string): Promise<Released | undefined> {
      const [row] = await q.cancel_hold<CancelRow>(sql, [reservationId, userId])
      if (!row) return undefined
      return {
        reservation: toReservation(row),
        session: row.queue_seq === null ? null : { concertId: row.concert_id, userId, seq: row.queue_seq },
        // The last live hold of a session that already paid: nothing is left to pay in that session.
        endsSession: row.ends_session,
        liveUntilMs: row.live_until?.getTime() ?? null,
      }
    },

    async get(userId: string, reservationId: string): Promise<Reservation> {
      const [row] = await read.get_reservation<ReservationRow>(sql, [reservationId, userId])
      if (!row) throw new ServiceError('NOT_FOUND', 'No such reservation')
      return toReservation(row)
    },

    /** A page of the user's reservations, newest first, after the reservation `after` (or from the start). */
    async list(userId: string, limit: number, after: string | null = null): Promise<Reservation[]> {
      return (await read.list_reservations<ReservationRow>(sql, [userId, limit, after])).map(toReservation)
    },

    /**
     * An operator ended this queue session (the store has ended it): holds refuse it from now on and its
     * live holds are released. Returns how many were, or null when a payment had ended the session
     * already (it paid and left nothing held; the store had not heard yet).
     */
    async sessionEnded(session: Ticket): Promise<number | null> {
      const row = theRow(await q.end_session_holds<{ released: number }>(sql, [session.userId, session.concertId, session.seq]), 'end_session_holds')
      return row.released < 0 ? null : row.released
    },

    /** The seqs of those of `sessions` (places in one concert) that paid for a seat. */
    async sessionsThatPaid(concertId: string, sessions: Ticket[]): Promise<Set<number>> {
      if (sessions.length === 0) return new Set()
      const rows = await read.sessions_that_paid<{ seq: number }>(sql, [concertId, sessions.map((s) => s.userId), sessions.map((s) => s.seq)])
      return new Set(rows.map((r) => r.seq))
    },

    /** Marks lapsed holds EXPIRED; `ended`: the queue sessions that ended with them (they paid, nothing is left held). */
    async lapse(batchSize = 5000): Promise<{ lapsed: number; freed: number; ended: Ticket[] }> {
      const [row] = await q.lapse_holds<{ lapsed: number; freed: number; ended: Ticket[] }>(sql, [batchSize])
      return row!
    },
  }
}

export type Holds = ReturnType<typeof holds>
