import { Elysia } from 'elysia'
import { Type } from '@sinclair/typebox'
import { timingSafeEqual } from 'node:crypto'
import { errors, Uuid } from '../http/schemas'
import { Problem } from '../http/problems'
import type { Catalogue } from '../catalogue/catalogue'

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

function sameKey(given: string | null, expected: string): boolean {
  if (given === null) return false
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

// The admin API exists only when ADMIN_API_KEY is set; without it these routes answer 404.
export function adminRoutes(catalogue: Catalogue, adminApiKey: string | null, maxPrice: number) {
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
          security: [{ adminKey: [] }],
        },
      },
    )
}
