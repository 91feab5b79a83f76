import { Elysia, t } from 'elysia'
import { Type } from '@sinclair/typebox'
import { timingSafeEqual } from 'node:crypto'
import { errors, Uuid } from '../http/schemas'
import { ServiceError } from '../errors'
import type { Catalogue } from '../catalogue/catalogue'
import { CreatedConcert, newConcertModel, TITLE_RULE, type NewConcert } from '../catalogue/model'
import { isUserId, USER_ID_RULE } from '../identity/user-tokens'
import { LinePatch, LineReadout } from '../waiting-room/model'
import type { LineOperator } from '../waiting-room/operator'
import { jsonBody } from '../http/json-body'
import { CALENDAR_TIME_FORM, EXPECTED } from '../http/validation-detail'

const CALENDAR_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(?:Z|([+-])(\d{2}):(\d{2}))$/i
const FIRST_MOMENT = Date.UTC(1970, 0, 1)
const PAST_THE_LAST = Date.UTC(10_000, 0, 1)

/**
 * An ISO 8601 date-time that names a real moment: a day that exists in its month (no February 30th, which
 * Date and Postgres would roll over into March), hours 0-23, a year from 1970 to 9999 and an explicit
 * offset. The year is the moment's in UTC: 9999-12-31T23:30:00-01:00 is in the year 10000, which Postgres
 * refused with an error (a 500: helper-61), as it does an offset past 15:59. The schema's `date-time`
 * format checks the shape only. Returns it with at most six digits of fraction, or null. RFC 3339 allows
 * any number (Go's RFC3339Nano writes nine); Postgres keeps microseconds and would round the rest, which
 * can carry into the next day or year: they are cut off.
 */
export function calendarTime(text: string): string | null {
  const m = CALENDAR_TIME.exec(text)
  if (!m) return null
  const fraction = m[7]
  const sign = m[8] === '-' ? -1 : 1
  const [year, month, day, hour, minute, second = 0, offsetHours = 0, offsetMinutes = 0] = [...m.slice(1, 7), ...m.slice(9)].map((v) =>
    v === undefined ? undefined : Number(v),
  )
  if (month! < 1 || month! > 12 || day! < 1) return null
  if (day! > new Date(Date.UTC(year!, month!, 0)).getUTCDate()) return null
  // Offsets as far as Postgres takes them (15:59; the world's go from -12:00 to +14:00): +20:54 was a 500.
  if (!(hour! <= 23 && minute! <= 59 && second! <= 59 && offsetHours! <= 15 && offsetMinutes! <= 59)) return null
  const moment = Date.UTC(year!, month! - 1, day!, hour!, minute!, second!) - sign * (offsetHours! * 60 + offsetMinutes!) * 60_000
  if (moment < FIRST_MOMENT || moment >= PAST_THE_LAST) return null
  return fraction && fraction.length > 7 ? text.replace(fraction, fraction.slice(0, 7)) : text
}

/** The calendar time at `field` as Postgres is to read it (see calendarTime), or a 400 naming the field. */
function realTime(field: string, text: string): string {
  const time = calendarTime(text)
  if (time === null) throw new ServiceError('VALIDATION_FAILED', `${field}: Expected a calendar time (${CALENDAR_TIME_FORM})`)
  return time
}

/** The opening of a created or patched line, if one is given (null, no opening, stays null). */
function checkOpening(body: { salesOpenAt?: string | null }) {
  if (typeof body.salesOpenAt === 'string') body.salesOpenAt = realTime('body.salesOpenAt', body.salesOpenAt)
}

// A character that shows: not a space, a control or a format character (a title of zero-width spaces,
// U+200B, was taken as one that is not empty: helper-58).
const VISIBLE = /[^\p{White_Space}\p{Cc}\p{Cf}\p{Z}]/u

function checkNewConcert(body: NewConcert) {
  if (/\p{Cc}/u.test(body.title) || !body.title.isWellFormed() || !VISIBLE.test(body.title) || [...body.title].length > 200) {
    throw new ServiceError('VALIDATION_FAILED', `body.title: Expected ${TITLE_RULE}`)
  }
  body.schedules.forEach((s, i) => {
    s.startsAt = realTime(`body.schedules.${i}.startsAt`, s.startsAt)
  })
  checkOpening(body)
}

function sameKey(given: string | null, expected: string): boolean {
  if (given === null) return false
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

const adminKey = [{ adminKey: [] }]

// The admin API exists only when ADMIN_API_KEY is set; without it these routes answer 404.
export function adminRoutes(catalogue: Catalogue, operator: LineOperator, adminApiKey: string | null, maxPrice: number) {
  return new Elysia({ prefix: '/v1/admin' })
    // Before body validation: without the key, nothing about the request is answered.
    .onTransform(({ request }) => {
      if (adminApiKey === null) throw new ServiceError('NOT_FOUND', 'The admin API is disabled (set ADMIN_API_KEY)')
      if (!sameKey(request.headers.get('x-admin-key'), adminApiKey)) {
        throw new ServiceError('UNAUTHENTICATED', 'Send the X-Admin-Key header')
      }
    })
    .post(
      '/concerts',
      async ({ body, set }) => {
        checkNewConcert(body)
        const { salesOpenAt, ...concert } = body
        const created =
          salesOpenAt === undefined || salesOpenAt === null
            ? await catalogue.createConcert(concert)
            : await operator.createWithOpening(salesOpenAt, (db) => catalogue.createConcert(concert, db))
        set.status = 201
        set.headers.location = `/v1/concerts/${created.concertId}/schedules`
        return created
      },
      {
        parse: jsonBody,
        body: newConcertModel(maxPrice),
        response: {
          201: CreatedConcert,
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
    .get('/concerts/:concertId/queue', ({ params }) => operator.readout(params.concertId), {
      params: t.Object({ concertId: Uuid() }),
      response: { 200: LineReadout, ...errors('UNAUTHENTICATED', 'NOT_FOUND') },
      detail: {
        operationId: 'getLine',
        tags: ['admin'],
        summary: 'The line of a concert: settings, waiting, active, admitted per minute, oldest wait',
        security: adminKey,
      },
    })
    .patch('/concerts/:concertId/queue', ({ params, body }) => {
      checkOpening(body)
      return operator.updateLine(params.concertId, body)
    }, {
      parse: jsonBody,
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
        if (!isUserId(params.userId)) throw new ServiceError('VALIDATION_FAILED', `params.userId: Expected ${USER_ID_RULE}`)
        return { ended: true as const, ...(await operator.endSession(params.concertId, params.userId)) }
      },
      {
        params: t.Object({ concertId: Uuid(), userId: t.String({ minLength: 1, maxLength: 256, [EXPECTED]: USER_ID_RULE }) }),
        response: {
          200: Type.Object({
            ended: Type.Literal(true),
            holdsReleased: Type.Integer({ minimum: 0, description: 'Live holds of the session, released at once (CANCELLED): they could no longer be paid. A hold still on its way counts too: it answers 201 and reads CANCELLED, or answers 403 and leaves nothing.' }),
          }),
          ...errors('UNAUTHENTICATED', 'NOT_FOUND'),
        },
        detail: {
          operationId: 'endSession',
          tags: ['admin'],
          summary: "End a user's place in the line (waiting or active); the slot goes to the next person, and the seats it held go back on sale",
          security: adminKey,
        },
      },
    )
}
