import type { Sql } from '../db/client'
import { statements } from '../db/statements'
import { Problem } from '../http/problems'

const q = statements('holds', ['hold_seat', 'get_reservation', 'list_reservations', 'cancel_hold', 'lapse_holds'])

export type ReservationStatus = 'HELD' | 'PAID' | 'EXPIRED' | 'CANCELLED'

export interface Reservation {
  reservationId: string
  scheduleId: string
  seatNumber: number
  price: number
  status: ReservationStatus
  expiresAt: string
  createdAt: string
}

interface ReservationRow {
  reservation_id: string
  schedule_id: string
  seat_number: number
  price: number
  status: ReservationStatus
  expires_at: Date
  created_at: Date
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

export function holds(sql: Sql, rules: HoldRules) {
  return {
    async hold(userId: string, scheduleId: string, seatNumber: number): Promise<Reservation> {
      const [row] = await q.hold_seat<Partial<ReservationRow> & { live_holds: number; seat_exists: boolean }>(sql, [
        crypto.randomUUID(),
        userId,
        scheduleId,
        seatNumber,
        rules.holdTtlSeconds,
        rules.maxHoldsPerUser,
      ])
      if (row!.reservation_id) return toReservation(row as ReservationRow)
      if (!row!.seat_exists) throw new Problem('NOT_FOUND', `Schedule ${scheduleId} has no seat ${seatNumber}`)
      if (row!.live_holds >= rules.maxHoldsPerUser) {
        throw new Problem('HOLD_LIMIT_REACHED', `At most ${rules.maxHoldsPerUser} live holds per user`)
      }
      throw new Problem('SEAT_UNAVAILABLE', `Seat ${seatNumber} is held or sold`)
    },

    async get(userId: string, reservationId: string): Promise<Reservation> {
      const [row] = await q.get_reservation<ReservationRow>(sql, [reservationId, userId])
      if (!row) throw new Problem('NOT_FOUND', 'No such reservation')
      return toReservation(row)
    },

    async list(userId: string, limit: number): Promise<Reservation[]> {
      return (await q.list_reservations<ReservationRow>(sql, [userId, limit])).map(toReservation)
    },

    async cancel(userId: string, reservationId: string): Promise<Reservation> {
      const [row] = await q.cancel_hold<ReservationRow>(sql, [reservationId, userId])
      if (row) return toReservation(row)
      const current = await this.get(userId, reservationId)
      if (current.status === 'CANCELLED') return current // cancelling twice is harmless
      if (current.status === 'PAID') throw new Problem('ALREADY_PAID', 'A paid reservation cannot be cancelled')
      throw new Problem('HOLD_EXPIRED', 'The hold has already lapsed')
    },

    async lapse(batchSize = 5000): Promise<{ lapsed: number; freed: number }> {
      const [row] = await q.lapse_holds<{ lapsed: number; freed: number }>(sql, [batchSize])
      return row!
    },
  }
}

export type Holds = ReturnType<typeof holds>
