import type { Catalogue } from '../catalogue/catalogue'
import { ServiceError } from '../errors'
import type { Log } from '../log'
import type { Metrics } from '../metrics/metrics'
import type { WaitingRoom } from '../waiting-room/waiting-room'
import type { Holds } from './holds'
import type { Reservation } from './model'

export interface SeatHoldDeps {
  holds: Holds
  catalogue: Catalogue
  room: WaitingRoom
  metrics: Metrics
  log: Log
}

// The seat-hold flows of a user: holding (with the queue guard and the session it extends) and
// cancelling (which may end a session that has nothing left to pay).
export function seatHolds({ holds, catalogue, room, metrics, log }: SeatHoldDeps) {
  async function release(userId: string, reservationId: string) {
    const released = await holds.release(userId, reservationId)
    if (released?.session) {
      if (released.endsSession) await room.sessionPaid(released.session)
      else await room.holdReleased(released.session, released.liveUntilMs)
    }
    return released
  }

  return {
    /**
     * A user holds a seat: an ACTIVE queue token of the seat's concert (checked live), the hold itself
     * (one conditional statement), then the session is extended to cover the hold. Only a hold that was
     * made extends the session; if the session ended between the check and the hold, the hold is undone
     * (no reservation is left behind) and the answer is 403, so that every hold answered 201 can be paid
     * until it lapses. For a session this instance saw ACTIVE moments ago the check before the hold is
     * left out (room.guardHold): the extension after it is the check, one round trip to the store
     * instead of two waiting on each other; a refused hold then asks the store why, so that a session
     * that is not ACTIVE answers 403 before anything about the seat, as in the other order. When the
     * hold ends within the session's own time, that round trip goes while the hold is decided rather
     * than after it (room.checkAheadOfHold): it then extends nothing and is the check alone. On the
     * Postgres store the hold itself checks and extends the session, in the same statement
     * (room.sessionTtlForHolds): nothing comes between the two, and there is nothing to undo.
     */
    async hold(userId: string, token: string | null, scheduleId: string, seatNumber: number): Promise<Reservation> {
      const concertId = await catalogue.concertOfSchedule(scheduleId)
      if (concertId === null) {
        room.ticket(userId, token) // the credentials first: "not found" tells a stranger nothing
        throw new ServiceError('NOT_FOUND', 'No such schedule')
      }
      const { ticket, checked } = await room.guardHold(userId, token, concertId)
      const sessionTtl = room.sessionTtlForHolds(concertId)
      const ahead = !checked && sessionTtl === null ? room.checkAheadOfHold(ticket, holds.holdTtlMs) : null
      let reservation: Reservation
      try {
        reservation = await holds.hold(userId, scheduleId, seatNumber, ticket.seq, sessionTtl)
      } catch (error) {
        if (!checked && error instanceof ServiceError) await room.requireActiveForHold(userId, token, concertId, ahead)
        throw error
      }
      if (sessionTtl !== null) {
        // The hold checked and extended its session itself, in the same commit (the Postgres store).
        metrics.holdsMade.inc()
        return reservation
      }
      // A hold taken back may have been the last thing its session had to pay (a payment of its other
      // hold ran meanwhile): the session then ends, as a cancel would end it.
      const takeBack = async () => {
        const { endsSession } = await holds.undo(userId, reservation.reservationId, ticket)
        if (endsSession) await room.sessionPaid(ticket)
      }
      let refusal: ServiceError | null
      try {
        refusal = await room.holdMade(ticket, Date.parse(reservation.expiresAt), ahead)
      } catch (error) {
        // The store could not be asked (503): the hold is undone, as nobody can tell whether it is payable.
        await takeBack().catch((undo) =>
          log({ level: 'error', msg: 'could not undo a hold the queue store did not confirm', reservationId: reservation.reservationId, error: String(undo) }),
        )
        throw error
      }
      if (refusal) {
        await takeBack()
        throw refusal
      }
      metrics.holdsMade.inc()
      return reservation
    },

    async cancel(userId: string, reservationId: string): Promise<Reservation> {
      const released = await release(userId, reservationId)
      if (released) return released.reservation
      const current = await holds.get(userId, reservationId)
      if (current.status === 'CANCELLED') return current // cancelling twice is harmless
      if (current.status === 'PAID') throw new ServiceError('ALREADY_PAID', 'A paid reservation cannot be cancelled')
      throw new ServiceError('HOLD_EXPIRED', 'The hold has already lapsed')
    },

    /**
     * The lapse job: lapsed holds are marked EXPIRED, and a session that paid and had its last live hold
     * lapse ends (DONE), as a payment or cancel that leaves nothing held ends it. Holds already refuse
     * such a session (sql/functions/session_has_ended.sql); this tells the queue store.
     */
    async lapse(batchSize?: number) {
      const result = await holds.lapse(batchSize)
      for (const session of result.ended) await room.sessionPaid(session)
      return { lapsed: result.lapsed, freed: result.freed, sessionsEnded: result.ended.length }
    },

    get: holds.get,
    list: holds.list,
  }
}

export type SeatHolds = ReturnType<typeof seatHolds>
