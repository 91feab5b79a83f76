import { Type, type Static } from '@sinclair/typebox'
import { SentUuid, Uuid } from '../http/schemas'

// The waiting room's models: the one source of their TypeScript types, validation and OpenAPI components.

export const SessionStatus = Type.Union(
  [Type.Literal('WAITING'), Type.Literal('ACTIVE'), Type.Literal('EXPIRED'), Type.Literal('DONE'), Type.Literal('SOLD_OUT')],
  {
    description:
      'WAITING in line; ACTIVE may browse, hold and pay; EXPIRED stopped polling or ran out of time; DONE paid; SOLD_OUT nothing left to sell. After EXPIRED or DONE, joining again gives a fresh place at the back.',
  },
)
export type SessionStatus = Static<typeof SessionStatus>

export const QueueStatus = Type.Object(
  {
    concertId: SentUuid(),
    status: SessionStatus,
    position: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()], { description: '1 = next in line; null unless WAITING' }),
    estimatedWaitSeconds: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], {
      description:
        'Seconds until admission: the places free now fill at the admission rate, and each place after them waits for a session to end, as fast as sessions were measured ending over the last minute and at least as fast as if each used its whole time; while the line is paused, counted from the resume; null unless WAITING (and in the pre-queue, before the opening)',
    }),
    activeUntil: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'null unless ACTIVE' }),
    pollAfterMs: Type.Integer({ minimum: 0, description: 'Wait this long before the next poll' }),
    opensAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
      description:
        'The sale opens at this time; set while you are in the pre-queue (WAITING, position null), else null. At the opening everyone in the pre-queue gets a uniformly random place, ahead of later arrivals.',
    }),
  },
  { title: 'QueueStatus' },
)
export type QueueStatus = Static<typeof QueueStatus>

export const JoinRequest = Type.Object({ concertId: Uuid() }, { additionalProperties: false })

export const QueueJoin = Type.Composite([QueueStatus, Type.Object({ token: Type.String({ description: 'Send as X-Queue-Token' }) })], {
  title: 'QueueJoin',
})

export const LineReadout = Type.Object(
  {
    concertId: SentUuid(),
    paused: Type.Boolean({ description: 'Admission stopped; the line keeps its order and its places' }),
    maxActive: Type.Integer({ description: 'Capacity: active sessions at most' }),
    admitPerSecond: Type.Integer({ description: 'Admissions per second at most' }),
    waiting: Type.Integer({ description: 'Users waiting (idle ones not counted)' }),
    active: Type.Integer({ description: 'Active sessions now' }),
    admittedLastMinute: Type.Integer(),
    oldestWaitSeconds: Type.Union([Type.Integer(), Type.Null()], {
      description: 'How long the user at the front has waited (to within 16 joins on Redis); null if nobody waits',
    }),
    soldOut: Type.Boolean(),
    salesOpenAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'The opening of the sale, or null' }),
  },
  { title: 'LineReadout' },
)

export const LinePatch = Type.Object(
  {
    paused: Type.Optional(Type.Boolean()),
    maxActive: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 1_000_000 }), Type.Null()], { description: 'null = the configured default' })),
    admitPerSecond: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 100_000 }), Type.Null()], { description: 'null = the configured default' })),
    salesOpenAt: Type.Optional(
      Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
        description: 'When the sale opens (the pre-queue before it); null = no opening time. A line draws its pre-queue once, at the first opening that passes.',
      }),
    ),
  },
  { additionalProperties: false, minProperties: 1, title: 'LinePatch' },
)
export type LinePatch = Static<typeof LinePatch>

