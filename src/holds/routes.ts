import { Elysia, t } from 'elysia'
import { Type } from '@sinclair/typebox'
import { bearer, bearerAndQueue, errors, Uuid } from '../http/schemas'
import { decodeCursor, nextLink, PageQuery, pageOf } from '../http/pages'
import { identity, type Users } from '../identity/plugin'
import { HoldRequest, Reservation } from './model'
import type { SeatHolds } from './seat-holds'
import { jsonBody } from '../http/json-body'

const DEFAULT_PAGE = 50

export function holdRoutes(holds: SeatHolds, users: Users, holdTtlSeconds: number) {
  return new Elysia({ prefix: '/v1/reservations' })
    .use(identity(users))
    .post(
      '',
      async ({ userId, body, request, set }) => {
        const reservation = await holds.hold(userId, request.headers.get('x-queue-token'), body.scheduleId, body.seatNumber)
        set.status = 201
        set.headers.location = `/v1/reservations/${reservation.reservationId}`
        return reservation
      },
      {
        auth: true,
        parse: jsonBody,
        body: HoldRequest,
        response: {
          201: Reservation,
          ...errors('UNAUTHENTICATED', 'QUEUE_TOKEN_INVALID', 'QUEUE_NOT_ACTIVE', 'NOT_FOUND', 'SEAT_UNAVAILABLE', 'HOLD_LIMIT_REACHED'),
        },
        detail: {
          operationId: 'holdSeat',
          tags: ['reservations'],
          summary: `Hold a seat for ${holdTtlSeconds} seconds (409 SEAT_UNAVAILABLE or HOLD_LIMIT_REACHED)`,
          security: bearerAndQueue,
        },
      },
    )
    .get('', async ({ userId, query, request, set }) => {
      const limit = query.limit ?? DEFAULT_PAGE
      const { items, next } = pageOf(await holds.list(userId, limit + 1, decodeCursor(query.cursor)), limit, (r) => r.reservationId)
      if (next) set.headers.link = nextLink(request, next)
      set.headers['cache-control'] = 'private, no-cache'
      return items
    }, {
      auth: true,
      query: t.Object(PageQuery(DEFAULT_PAGE), { additionalProperties: false }),
      response: { 200: Type.Array(Reservation), ...errors('UNAUTHENTICATED') },
      detail: { operationId: 'listReservations', tags: ['reservations'], summary: 'Your reservations, newest first', security: bearer },
    })
    .get('/:reservationId', ({ userId, params, set }) => {
      set.headers['cache-control'] = 'private, no-cache'
      return holds.get(userId, params.reservationId)
    }, {
      auth: true,
      params: t.Object({ reservationId: Uuid() }),
      response: { 200: Reservation, ...errors('UNAUTHENTICATED', 'NOT_FOUND') },
      detail: { operationId: 'getReservation', tags: ['reservations'], summary: 'One of your reservations', security: bearer },
    })
    .delete('/:reservationId', ({ userId, params }) => holds.cancel(userId, params.reservationId), {
      auth: true,
      params: t.Object({ reservationId: Uuid() }),
      response: { 200: Reservation, ...errors('UNAUTHENTICATED', 'NOT_FOUND', 'HOLD_EXPIRED', 'ALREADY_PAID') },
      detail: {
        operationId: 'cancelReservation',
        tags: ['reservations'],
        summary: 'Release a held seat at once (409 HOLD_EXPIRED if it lapsed, ALREADY_PAID if paid)',
        security: bearer,
      },
    })
}
