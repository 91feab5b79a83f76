import { Type, type Static } from '@sinclair/typebox'
import { SentUuid, Uuid } from '../http/schemas'

// The seat holds' models: the one source of their TypeScript types, validation and OpenAPI components.

export const ReservationStatus = Type.Union([Type.Literal('HELD'), Type.Literal('PAID'), Type.Literal('EXPIRED'), Type.Literal('CANCELLED')])
export type ReservationStatus = Static<typeof ReservationStatus>

export const Reservation = Type.Object(
  {
    reservationId: SentUuid(),
    scheduleId: SentUuid(),
    seatNumber: Type.Integer({ minimum: 1 }),
    price: Type.Integer({ minimum: 1, description: 'won' }),
    status: ReservationStatus,
    expiresAt: Type.String({ format: 'date-time', description: 'When the hold lapses' }),
    createdAt: Type.String({ format: 'date-time' }),
  },
  { title: 'Reservation' },
)
export type Reservation = Static<typeof Reservation>

export const HoldRequest = Type.Object(
  { scheduleId: Uuid(), seatNumber: Type.Integer({ minimum: 1, maximum: 1_000_000 }) },
  { additionalProperties: false },
)

/** The most reservations one page lists. */
export const MAX_PAGE = 100
