import { Type, type Static } from '@sinclair/typebox'
import { SentUuid } from '../http/schemas'
import { EXPECTED } from '../http/validation-detail'

// The catalogue's models: each is the one source of its TypeScript type, its validation and its OpenAPI
// component (by title).

export const ConcertSummary = Type.Object(
  { concertId: SentUuid(), title: Type.String(), schedules: Type.Integer({ minimum: 0, description: 'Number of schedules' }) },
  { title: 'ConcertSummary' },
)
export type ConcertSummary = Static<typeof ConcertSummary>

export const ScheduleSummary = Type.Object(
  {
    scheduleId: SentUuid(),
    startsAt: Type.String({ format: 'date-time' }),
    totalSeats: Type.Integer({ minimum: 1 }),
    availableSeats: Type.Integer({ minimum: 0, description: 'AVAILABLE seats, lapsed holds included' }),
  },
  { title: 'ScheduleSummary' },
)
export type ScheduleSummary = Static<typeof ScheduleSummary>

export const Seat = Type.Object(
  {
    number: Type.Integer({ minimum: 1 }),
    price: Type.Integer({ minimum: 1, description: 'won' }),
    status: Type.Union([Type.Literal('AVAILABLE'), Type.Literal('HELD'), Type.Literal('SOLD')]),
  },
  { title: 'Seat' },
)
export type Seat = Static<typeof Seat>

/** The seat map of a big schedule in a few bytes a seat: statuses as one string, prices as runs. */
export const SeatMapCompact = Type.Object(
  {
    seats: Type.Integer({ minimum: 0, description: 'How many seats the schedule has (numbered 1..seats)' }),
    status: Type.String({
      pattern: '^[AHS]*$',
      description: "One character per seat, seat 1 first: A available (a lapsed hold included), H held, S sold",
    }),
    prices: Type.Array(
      Type.Object({
        from: Type.Integer({ minimum: 1, description: 'First seat of the run' }),
        to: Type.Integer({ minimum: 1, description: 'Last seat of the run' }),
        price: Type.Integer({ minimum: 1, description: 'won, for every seat of the run' }),
      }),
      { description: 'Runs of consecutive seats with one price, in seat order' },
    ),
  },
  { title: 'SeatMapCompact' },
)
export type SeatMapCompact = Static<typeof SeatMapCompact>

/** What a concert's title is, in the words of a refusal (src/admin/routes.ts counts its characters). */
export const TITLE_RULE = '1-200 characters of visible text, no control characters'

/** A concert as the operator creates it; prices are capped by the balance limit (nobody could pay more). */
export const newConcertModel = (maxPrice: number) =>
  Type.Object(
    {
      title: Type.String({ minLength: 1, maxLength: 400, description: '1-200 characters (400 UTF-16 code units holds 200 characters outside the Basic Multilingual Plane)', [EXPECTED]: TITLE_RULE }), // characters are counted by the admin API
      schedules: Type.Array(
        Type.Object(
          {
            startsAt: Type.String({ format: 'date-time' }),
            seatCount: Type.Integer({ minimum: 1, maximum: 100_000 }),
            price: Type.Integer({ minimum: 1, maximum: maxPrice, description: 'won, for every seat of the schedule' }),
          },
          { additionalProperties: false },
        ),
        { minItems: 1, maxItems: 50 },
      ),
      // Null as the line's settings take it (PATCH .../queue): no opening, as when it is left out.
      salesOpenAt: Type.Optional(
        Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
          description: 'When the sale opens, or null for none. Before it, joining puts people in the pre-queue; at it, they get a uniformly random order.',
        }),
      ),
    },
    { additionalProperties: false, title: 'NewConcert' },
  )
export type NewConcert = Static<ReturnType<typeof newConcertModel>>

export const CreatedConcert = Type.Object(
  { concertId: SentUuid(), schedules: Type.Array(Type.Object({ scheduleId: SentUuid() })) },
  { title: 'CreatedConcert' },
)
export type CreatedConcert = Static<typeof CreatedConcert>
