import { expect, test } from 'bun:test'
import fc from 'fast-check'
import { calendarTime } from '../../src/admin/routes'
import { ADMIN_KEY, call, onEachDatabase } from '../support/app'

// POST /v1/admin/concerts: what reaches Postgres is a real moment and visible text. Date and Postgres
// would both roll 2026-02-30 over into March; a year 0000, a NUL or hour 24 would be refused by Postgres
// with an error (a 500) instead of by us with a 400.

const admin = { 'x-admin-key': ADMIN_KEY }
const body = (startsAt: string, title = 'Calendar test') => ({ title, schedules: [{ startsAt, seatCount: 2, price: 100 }] })

test('a fraction of any length passes (RFC 3339; Go writes nine digits), cut to the microseconds Postgres keeps, never rounded into the next day', () => {
  expect(calendarTime('2026-12-31T23:59:59.9999999Z')).toBe('2026-12-31T23:59:59.999999Z')
  expect(calendarTime('9999-12-31T23:59:59.123456789+09:00')).toBe('9999-12-31T23:59:59.123456+09:00')
  expect(calendarTime('2026-06-01T19:00:00.5Z')).toBe('2026-06-01T19:00:00.5Z')
  expect(calendarTime('2026-06-01T19:00:00.Z')).toBeNull()
})

test('real calendar times pass; days a month does not have, hour 24, year 0000 and missing offsets do not', () => {
  for (const ok of ['2026-02-28T19:00:00Z', '2028-02-29T19:00:00Z', '2026-12-31T23:59:59.999Z', '2026-06-01T19:00+09:00', '2026-06-01T19:00:00-03:30',
    '1970-01-01T00:00:00Z', '1969-12-31T23:30:00-01:00', '9999-12-31T23:59:59Z', '9999-12-31T23:30:00+01:00']) {
    expect(calendarTime(ok)).toBe(ok)
  }
  for (const bad of ['2026-02-30T19:00:00Z', '2027-02-29T19:00:00Z', '2026-04-31T19:00:00Z', '2026-01-01T24:00:00Z', '2026-01-01T19:60:00Z',
    '2026-01-01T19:00:60Z', '0000-01-01T19:00:00Z', '1969-12-31T23:00:00Z', '2026-13-01T19:00:00Z', '2026-00-10T19:00:00Z',
    '2026-01-01T19:00:00', '2026-01-01T19:00:00+24:00', '2026-01-01', '+012026-01-01T19:00:00Z',
    // The year is the moment's, in UTC (helper-61: the first was a 500 from Postgres, the second taken).
    '9999-12-31T23:30:00-01:00', '1970-01-01T00:30:00+01:00', '2027-04-04T04:29:00+20:54', '2027-01-05T08:01:00-16:00']) {
    expect([bad, calendarTime(bad)]).toEqual([bad, null])
  }
})

onEachDatabase('creating a concert', {}, (ctx) => {
  test('a date that does not exist, hour 24, year 0000 or a NUL in the title is a 400 and stores nothing', async () => {
    const [before] = await ctx.db.sql`select count(*)::int as n from concerts`
    const replies = await Promise.all([
      call(ctx.server, '/v1/admin/concerts', { headers: admin, body: body('2026-02-30T19:00:00Z') }),
      call(ctx.server, '/v1/admin/concerts', { headers: admin, body: body('2026-01-01T24:00:00Z') }),
      call(ctx.server, '/v1/admin/concerts', { headers: admin, body: body('0000-01-01T19:00:00Z') }),
      // In the year 10000 once in UTC: Postgres refused it with an error, a 500 (helper-61).
      call(ctx.server, '/v1/admin/concerts', { headers: admin, body: body('9999-12-31T23:30:00-01:00') }),
      call(ctx.server, '/v1/admin/concerts', { headers: admin, body: { ...body('2027-06-01T19:00:00Z'), salesOpenAt: '9999-12-31T23:30:00-01:00' } }),
      call(ctx.server, '/v1/admin/concerts', { headers: admin, body: body('2026-06-01T19:00:00Z', 'Night\u0000Show') }),
      call(ctx.server, '/v1/admin/concerts', { headers: admin, body: body('2026-06-01T19:00:00Z', '   ') }),
      // Nothing that shows: zero-width spaces (helper-58), a no-break space, a BOM.
      call(ctx.server, '/v1/admin/concerts', { headers: admin, body: body('2026-06-01T19:00:00Z', '\u200b\u200b') }),
      call(ctx.server, '/v1/admin/concerts', { headers: admin, body: body('2026-06-01T19:00:00Z', '\u00a0\ufeff') }),
    ])
    expect(replies.map((r) => [r.status, r.body.code])).toEqual(replies.map(() => [400, 'VALIDATION_FAILED']))
    const [after] = await ctx.db.sql`select count(*)::int as n from concerts`
    expect(after!.n).toBe(before!.n)
  })

  test('every calendar time taken is one Postgres takes, at the moment it names, from 1970 to 9999 in UTC (property, near the edges)', async () => {
    const two = (n: number) => String(n).padStart(2, '0')
    const time = fc.record({
      year: fc.constantFrom(1969, 1970, 1971, 2027, 9998, 9999),
      month: fc.integer({ min: 1, max: 12 }),
      day: fc.integer({ min: 1, max: 31 }),
      hour: fc.integer({ min: 0, max: 23 }),
      minute: fc.integer({ min: 0, max: 59 }),
      offset: fc.oneof(fc.constant('Z'), fc.record({ sign: fc.constantFrom('+', '-'), h: fc.integer({ min: 0, max: 23 }), m: fc.integer({ min: 0, max: 59 }) })),
    }).map(({ year, month, day, hour, minute, offset }) =>
      `${year}-${two(month)}-${two(day)}T${two(hour)}:${two(minute)}:00${typeof offset === 'string' ? offset : `${offset.sign}${two(offset.h)}:${two(offset.m)}`}`,
    )
    const taken: string[] = []
    fc.assert(fc.property(time, (text) => void (calendarTime(text) !== null && taken.push(text))), { numRuns: 2000 })
    expect(taken.length).toBeGreaterThan(500)
    const rows = await ctx.db.sql`select t, extract(epoch from t::timestamptz) * 1000 as ms from unnest(${taken}::text[]) as t`
    for (const row of rows) {
      const ms = Number(row.ms)
      expect([row.t, ms]).toEqual([row.t, Date.parse(row.t)])
      expect(ms >= Date.UTC(1970, 0, 1) && ms < Date.UTC(10_000, 0, 1)).toBe(true)
    }
  })

  test('a real date is stored as that moment', async () => {
    const reply = await call(ctx.server, '/v1/admin/concerts', { headers: admin, body: body('2028-02-29T19:30:00+09:00') })
    expect(reply.status).toBe(201)
    const [row] = await ctx.db.sql`select starts_at from schedules where schedule_id = ${reply.body.schedules[0].scheduleId}`
    expect((row!.starts_at as Date).toISOString()).toBe('2028-02-29T10:30:00.000Z')
  })

  test('nine digits of a second are stored to the microsecond, not rounded into the next year', async () => {
    const reply = await call(ctx.server, '/v1/admin/concerts', {
      headers: admin,
      body: { ...body('2027-12-31T23:59:59.999999999Z'), salesOpenAt: '2027-12-30T23:59:59.999999999Z' },
    })
    expect(reply.status).toBe(201)
    const [row] = await ctx.db.sql`
      select to_char(starts_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') as starts
      from schedules where schedule_id = ${reply.body.schedules[0].scheduleId}`
    expect(row!.starts).toStartWith('2027-12-31 23:59:59.999') // milliseconds, as every time here is shown
    const patched = await call(ctx.server, `/v1/admin/concerts/${reply.body.concertId}/queue`, { method: 'PATCH', headers: admin, body: { salesOpenAt: '2027-12-29T10:00:00.1234567891Z' } })
    expect(patched.status).toBe(200)
  })
})

onEachDatabase('lengths in characters', {}, (ctx) => {
  test('a title of 200 emoji is 200 characters: accepted; 201 are refused (JSON Schema counts UTF-16 units, Postgres code points)', async () => {
    const ok = await call(ctx.server, '/v1/admin/concerts', { headers: admin, body: body('2027-06-01T19:00:00Z', '🎵'.repeat(200)) })
    const over = await call(ctx.server, '/v1/admin/concerts', { headers: admin, body: body('2027-06-01T19:00:00Z', '🎵'.repeat(201)) })
    expect([ok.status, over.status]).toEqual([201, 400])
  })

  test('user ids of 128 emoji: a dev token is issued and the operator can end their session; 129 are refused', async () => {
    const ok = await call(ctx.server, '/v1/dev/user-tokens', { body: { userId: '🎫'.repeat(128) } })
    const over = await call(ctx.server, '/v1/dev/user-tokens', { body: { userId: '🎫'.repeat(129) } })
    expect([ok.status, over.status]).toEqual([201, 400])
    const concert = await call(ctx.server, '/v1/admin/concerts', { headers: admin, body: body('2027-06-01T19:00:00Z') })
    const path = `/v1/admin/concerts/${concert.body.concertId}/queue/sessions/${encodeURIComponent('🎫'.repeat(128))}`
    expect((await call(ctx.server, path, { method: 'DELETE', headers: admin })).body.code).toBe('NOT_FOUND') // no place, but a valid id
  })
})

onEachDatabase('the opening of a sale (salesOpenAt)', {}, (ctx) => {
  const line = (concertId: string) => `/v1/admin/concerts/${concertId}/queue`

  test('given at creation, it is the line\'s opening; a PATCH moves it or clears it (null)', async () => {
    const created = await call(ctx.server, '/v1/admin/concerts', { headers: admin, body: { ...body('2027-06-01T19:00:00Z'), salesOpenAt: '2027-05-01T10:00:00+09:00' } })
    expect(created.status).toBe(201)
    const concertId = created.body.concertId
    expect((await call(ctx.server, line(concertId), { headers: admin })).body.salesOpenAt).toBe('2027-05-01T01:00:00.000Z')
    const moved = await call(ctx.server, line(concertId), { method: 'PATCH', headers: admin, body: { salesOpenAt: '2027-05-02T01:00:00Z' } })
    expect(moved.body.salesOpenAt).toBe('2027-05-02T01:00:00.000Z')
    const cleared = await call(ctx.server, line(concertId), { method: 'PATCH', headers: admin, body: { salesOpenAt: null } })
    expect(cleared.body.salesOpenAt).toBeNull()
    // Null at creation is no opening too, as a PATCH takes it (helper-58: refused at creation only).
    const none = await call(ctx.server, '/v1/admin/concerts', { headers: admin, body: { ...body('2027-06-01T19:00:00Z'), salesOpenAt: null } })
    expect(none.status).toBe(201)
    expect((await call(ctx.server, line(none.body.concertId), { headers: admin })).body.salesOpenAt).toBeNull()
  })

  test('an opening that is not a real calendar time is a 400, at creation and by PATCH, and changes nothing', async () => {
    const [before] = await ctx.db.sql`select count(*)::int as n from concerts`
    const bad = await call(ctx.server, '/v1/admin/concerts', { headers: admin, body: { ...body('2027-06-01T19:00:00Z'), salesOpenAt: '2027-02-30T10:00:00Z' } })
    expect([bad.status, bad.body.code]).toEqual([400, 'VALIDATION_FAILED'])
    const [after] = await ctx.db.sql`select count(*)::int as n from concerts`
    expect(after!.n).toBe(before!.n)

    const created = await call(ctx.server, '/v1/admin/concerts', { headers: admin, body: { ...body('2027-06-01T19:00:00Z'), salesOpenAt: '2027-05-01T10:00:00Z' } })
    for (const salesOpenAt of ['2027-04-31T10:00:00Z', 'tomorrow', '2027-05-01', 5, '9999-12-31T23:30:00-01:00']) {
      const reply = await call(ctx.server, line(created.body.concertId), { method: 'PATCH', headers: admin, body: { salesOpenAt } })
      expect([reply.status, reply.body.code]).toEqual([400, 'VALIDATION_FAILED'])
    }
    expect((await call(ctx.server, line(created.body.concertId), { headers: admin })).body.salesOpenAt).toBe('2027-05-01T10:00:00.000Z')
  })
})
