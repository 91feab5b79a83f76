import { Elysia, t } from 'elysia'
import { Type } from '@sinclair/typebox'
import { timingSafeEqual } from 'node:crypto'
import { errors, Uuid } from '../http/schemas'
import { Problem } from '../http/problems'
import type { Catalogue } from '../catalogue/catalogue'
import type { WaitingRoom } from '../waiting-room/waiting-room'

export const NewConcert = (maxPrice: number) =>
  Type.Object(
    {
      title: Type.String({ minLength: 1, maxLength: 200 }),
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
    },
    { additionalProperties: false, title: 'NewConcert' },
  )

const LineReadout = Type.Object(
  {
    concertId: Uuid(),
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
  },
  { title: 'LineReadout' },
)

const LinePatch = Type.Object(
  {
    paused: Type.Optional(Type.Boolean()),
    maxActive: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 1_000_000 }), Type.Null()], { description: 'null = the configured default' })),
    admitPerSecond: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 100_000 }), Type.Null()], { description: 'null = the configured default' })),
  },
  { additionalProperties: false, minProperties: 1, title: 'LinePatch' },
)

function sameKey(given: string | null, expected: string): boolean {
  if (given === null) return false
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

const adminKey = [{ adminKey: [] }]

// The admin API exists only when ADMIN_API_KEY is set; without it these routes answer 404.
export function adminRoutes(catalogue: Catalogue, room: WaitingRoom, adminApiKey: string | null, maxPrice: number) {
  return new Elysia({ prefix: '/v1/admin' })
    // Before body validation: without the key, nothing about the request is answered.
    .onTransform(({ request }) => {
      if (adminApiKey === null) throw new Problem('NOT_FOUND', 'The admin API is disabled (set ADMIN_API_KEY)')
      if (!sameKey(request.headers.get('x-admin-key'), adminApiKey)) {
        throw new Problem('UNAUTHENTICATED', 'Send the X-Admin-Key header')
      }
    })
    .post(
      '/concerts',
      async ({ body, set }) => {
        set.status = 201
        return catalogue.createConcert(body)
      },
      {
        parse: 'json',
        body: NewConcert(maxPrice),
        response: {
          201: Type.Object({ concertId: Uuid(), schedules: Type.Array(Type.Object({ scheduleId: Uuid() })) }, { title: 'CreatedConcert' }),
          ...errors('UNAUTHENTICATED', 'NOT_FOUND'),
        },
        detail: {
          operationId: 'createConcert',
          tags: ['admin'],
          summary: 'Create a concert with its schedules and seats numbered 1..N',
          security: adminKey,
        },
      },
    )
    .get('/concerts/:concertId/queue', ({ params }) => room.readout(params.concertId), {
      params: t.Object({ concertId: Uuid() }),
      response: { 200: LineReadout, ...errors('UNAUTHENTICATED', 'NOT_FOUND') },
      detail: {
        operationId: 'getLine',
        tags: ['admin'],
        summary: 'The line of a concert: settings, waiting, active, admitted per minute, oldest wait',
        security: adminKey,
      },
    })
    .patch('/concerts/:concertId/queue', ({ params, body }) => room.updateLine(params.concertId, body), {
      parse: 'json',
      params: t.Object({ concertId: Uuid() }),
      body: LinePatch,
      response: { 200: LineReadout, ...errors('UNAUTHENTICATED', 'NOT_FOUND') },
      detail: {
        operationId: 'updateLine',
        tags: ['admin'],
        summary: 'Pause or resume admission, change capacity or rate; every instance applies it within one tick',
        security: adminKey,
      },
    })
    .delete(
      '/concerts/:concertId/queue/sessions/:userId',
      async ({ params }) => {
        await room.endSession(params.concertId, params.userId)
        return { ended: true as const }
      },
      {
        params: t.Object({ concertId: Uuid(), userId: t.String({ minLength: 1, maxLength: 128 }) }),
        response: { 200: Type.Object({ ended: Type.Literal(true) }), ...errors('UNAUTHENTICATED', 'NOT_FOUND') },
        detail: {
          operationId: 'endSession',
          tags: ['admin'],
          summary: "End a user's place in the line (waiting or active); the slot goes to the next person",
          security: adminKey,
        },
      },
    )
}
