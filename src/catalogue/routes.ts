import { Elysia, t } from 'elysia'
import { Type } from '@sinclair/typebox'
import { bearerAndQueue, errors, Uuid } from '../http/schemas'
import { ServiceError } from '../errors'
import { decodeCursor, encodeCursor, nextLink, PageQuery } from '../http/pages'
import { answerShared, sharedAnswer } from '../http/shared-answer'
import { identity, type Users } from '../identity/plugin'
import type { WaitingRoom } from '../waiting-room/waiting-room'
import type { Catalogue } from './catalogue'
import { ConcertSummary, ScheduleSummary, Seat, SeatMapCompact } from './model'

const AvailableQuery = t.Object(
  { available: t.Optional(t.BooleanString({ description: 'true = only what can still be held' })) },
  { additionalProperties: false },
)
// The public list may sit in any cache for a few seconds; dates and seat maps are answers to an admitted
// user, so only that user's client may keep them, and it must revalidate (cheap: a 304 by ETag).
const PUBLIC_LIST = 'public, max-age=5'
const ADMITTED_READ = 'private, no-cache'
const DEFAULT_CONCERT_PAGE = 50

const guarded = errors('UNAUTHENTICATED', 'QUEUE_TOKEN_INVALID', 'QUEUE_NOT_ACTIVE', 'NOT_FOUND')

export function catalogueRoutes(catalogue: Catalogue, room: WaitingRoom, users: Users) {
  /** A seat map's guard: an ACTIVE queue token of the schedule's concert; the credentials before "not found". */
  async function admittedToSchedule(userId: string, token: string | null, scheduleId: string) {
    const concertId = await catalogue.concertOfSchedule(scheduleId)
    if (concertId === null) {
      room.ticket(userId, token) // "not found" tells a stranger nothing
      throw new ServiceError('NOT_FOUND', 'No such schedule')
    }
    await room.requireActiveForRead(userId, token, concertId)
  }

  return new Elysia({ prefix: '/v1' })
    .use(identity(users))
    .get(
      '/concerts',
      async ({ query, request }) => {
        const page = await catalogue.concertPage(query.limit ?? DEFAULT_CONCERT_PAGE, decodeCursor(query.cursor))
        return answerShared(request, page.answer, PUBLIC_LIST, page.lastIfMore ? { link: nextLink(request, encodeCursor(page.lastIfMore)) } : {})
      },
      {
      query: t.Object(PageQuery(DEFAULT_CONCERT_PAGE), { additionalProperties: false }),
      response: { 200: Type.Array(ConcertSummary), ...errors() },
      detail: { operationId: 'listConcerts', tags: ['catalogue'], summary: 'The public catalogue of concerts', security: [] },
      },
    )
    .get(
      '/concerts/:concertId/schedules',
      async ({ userId, params, query, request }) => {
        await room.requireActiveForRead(userId, request.headers.get('x-queue-token'), params.concertId)
        const schedules = await catalogue.listSchedules(params.concertId, query.available === true)
        return answerShared(request, sharedAnswer(JSON.stringify(schedules)), ADMITTED_READ)
      },
      {
        auth: true,
        params: t.Object({ concertId: Uuid() }),
        query: AvailableQuery,
        response: { 200: Type.Array(ScheduleSummary), ...guarded },
        detail: {
          operationId: 'listSchedules',
          tags: ['catalogue'],
          summary: 'Dates of a concert and their free seats (needs an ACTIVE queue token of the concert)',
          security: bearerAndQueue,
        },
      },
    )
    .get(
      '/schedules/:scheduleId/seats',
      async ({ userId, params, query, request }) => {
        await admittedToSchedule(userId, request.headers.get('x-queue-token'), params.scheduleId)
        // The map is drawn as bytes from the seats kept in memory (seat-states.ts), once per change, not
        // per request; it is not checked against the schema below on the way out, which documents it.
        return answerShared(request, await catalogue.seatMap(params.scheduleId, query.available === true), ADMITTED_READ)
      },
      {
        auth: true,
        params: t.Object({ scheduleId: Uuid() }),
        query: AvailableQuery,
        response: { 200: Type.Array(Seat), ...guarded },
        detail: {
          operationId: 'listSeats',
          tags: ['catalogue'],
          summary: 'Seats of a schedule, numbered 1..N (needs an ACTIVE queue token of the concert)',
          security: bearerAndQueue,
        },
      },
    )
    .get(
      '/schedules/:scheduleId/seat-map',
      async ({ userId, params, request }) => {
        await admittedToSchedule(userId, request.headers.get('x-queue-token'), params.scheduleId)
        return answerShared(request, await catalogue.compactSeatMap(params.scheduleId), ADMITTED_READ)
      },
      {
        auth: true,
        params: t.Object({ scheduleId: Uuid() }),
        query: t.Object({}, { additionalProperties: false }),
        response: { 200: SeatMapCompact, ...guarded },
        detail: {
          operationId: 'getSeatMap',
          tags: ['catalogue'],
          summary: 'The compact seat map of a schedule: one character per seat and the price runs (for big halls; needs an ACTIVE queue token of the concert)',
          security: bearerAndQueue,
        },
      },
    )
}
