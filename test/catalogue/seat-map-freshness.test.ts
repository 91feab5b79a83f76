import { expect, test } from 'bun:test'
import { catalogue } from '../../src/catalogue/catalogue'
import type { SharedAnswer } from '../../src/http/shared-answer'
import { call, onFreshDatabase } from '../support/app'
import { createConcert, hold, pay, shopper } from '../support/scenario'
import { describeWith } from '../support/services'

// A seat map is kept while no seat of its schedule changes (src/catalogue/kept-maps.ts), yet never older
// than CATALOGUE_CACHE_MS (README, configuration): every kind of change - hold, cancel, payment, a hold
// lapsing with no write at all - shows in every form of the map within that window.

const WINDOW_MS = 300
const statuses = (seats: { status: string }[]) => seats.map((s) => s.status[0]).join('')
const text = (answer: SharedAnswer) => answer.plain.text()

describeWith(['DATABASE_URL'], 'seat map freshness', () => {
  const ctx = onFreshDatabase({ CATALOGUE_CACHE_MS: String(WINDOW_MS), HOLD_TTL_SECONDS: '1' })

  test('holds, cancels, payments and lapses show in the full, available-only and compact maps within the window', async () => {
    const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 4 })
    const id = scheduleIds[0]!
    const ann = await shopper(ctx.server, 'fresh-ann', concertId, 5000)
    const reader = await shopper(ctx.server, 'fresh-reader', concertId) // ann's payment ends her session
    const maps = async () => {
      const [full, available, compact] = await Promise.all([
        call(ctx.server, `/v1/schedules/${id}/seats`, reader),
        call(ctx.server, `/v1/schedules/${id}/seats?available=true`, reader),
        call(ctx.server, `/v1/schedules/${id}/seat-map`, reader),
      ])
      expect([full.status, available.status, compact.status]).toEqual([200, 200, 200])
      return { full: statuses(full.body), available: available.body.map((s: { number: number }) => s.number), compact: compact.body.status }
    }
    // After a change has answered, a read that starts one window later must show it.
    const afterWindow = async () => {
      await Bun.sleep(WINDOW_MS + 30)
      return maps()
    }
    expect(await maps()).toEqual({ full: 'AAAA', available: [1, 2, 3, 4], compact: 'AAAA' })

    const held = await hold(ctx.server, ann, id, 1)
    expect(held.status).toBe(201)
    expect(await afterWindow()).toEqual({ full: 'HAAA', available: [2, 3, 4], compact: 'HAAA' })

    expect((await call(ctx.server, `/v1/reservations/${held.body.reservationId}`, { ...ann, method: 'DELETE' })).status).toBe(200)
    expect(await afterWindow()).toEqual({ full: 'AAAA', available: [1, 2, 3, 4], compact: 'AAAA' })

    const sold = await hold(ctx.server, ann, id, 2)
    expect((await pay(ctx.server, ann, sold.body.reservationId)).status).toBe(201)
    expect(await afterWindow()).toEqual({ full: 'ASAA', available: [1, 3, 4], compact: 'ASAA' })

    // A hold lapses by time alone (HOLD_TTL_SECONDS = 1): no statement writes the seat, yet the map shows it free.
    const bob = await shopper(ctx.server, 'fresh-bob', concertId)
    expect((await hold(ctx.server, bob, id, 3)).status).toBe(201)
    expect(await afterWindow()).toEqual({ full: 'ASHA', available: [1, 4], compact: 'ASHA' })
    await Bun.sleep(1000)
    expect(await maps()).toEqual({ full: 'ASAA', available: [1, 3, 4], compact: 'ASAA' })
  }, 15_000)

  test('an unchanged map is checked after the window, not built again: the same answer and compressed bytes', async () => {
    const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 3 })
    const id = scheduleIds[0]!
    const shop = catalogue(ctx.db.sql, { cacheMs: 50 })
    const first = await shop.seatMap(id, false)
    const compact = await shop.compactSeatMap(id)
    await Bun.sleep(80)
    expect(await shop.seatMap(id, false)).toBe(first)
    expect(await shop.compactSeatMap(id)).toBe(compact)

    // The lapse job rewrites a lapsed hold's seat with what every map already showed: same bytes, same answer.
    const ann = await shopper(ctx.server, 'kept-ann', concertId)
    expect((await hold(ctx.server, ann, id, 1)).status).toBe(201)
    await Bun.sleep(80)
    const heldMap = await shop.seatMap(id, false)
    expect(await text(heldMap)).toContain('"HELD"')
    await Bun.sleep(1000)
    const lapsed = await shop.seatMap(id, false)
    expect(lapsed.etag).toBe(first.etag)
    expect((await ctx.server.holds.lapse()).freed).toBeGreaterThanOrEqual(1)
    await Bun.sleep(80)
    expect(await shop.seatMap(id, false)).toBe(lapsed)
  }, 10_000)

  test('a seat added by hand in SQL shows in every form: the seats are read whole again, and no map drawn before is served for them', async () => {
    const { scheduleIds } = await createConcert(ctx.server, { seats: 2 })
    const id = scheduleIds[0]!
    const shop = catalogue(ctx.db.sql, { cacheMs: 0 })
    const before = await shop.seatMap(id, false)
    expect(JSON.parse(await text(await shop.compactSeatMap(id))).status).toBe('AA')
    await ctx.db.sql`insert into seats (schedule_id, seat_number, price, status, reservation_id) values (${id}, 3, 700, 'SOLD', gen_random_uuid())`
    const after = await shop.seatMap(id, false)
    expect(after).not.toBe(before)
    expect(JSON.parse(await text(after))).toEqual([
      { number: 1, price: 1000, status: 'AVAILABLE' },
      { number: 2, price: 1000, status: 'AVAILABLE' },
      { number: 3, price: 700, status: 'SOLD' },
    ])
    expect(JSON.parse(await text(await shop.compactSeatMap(id))).status).toBe('AAS')
    expect(JSON.parse(await text(await shop.seatMap(id, true))).map((s: { number: number }) => s.number)).toEqual([1, 2])
  })

  test('a seat written by a transaction still running while the map was built shows once that transaction commits', async () => {
    const { scheduleIds } = await createConcert(ctx.server, { seats: 2 })
    const id = scheduleIds[0]!
    const shop = catalogue(ctx.db.sql, { cacheMs: 0 })
    await shop.seatMap(id, false)
    const slow = await ctx.db.sql.reserve()
    try {
      await slow`begin`
      await slow`update seats set status = 'SOLD', reservation_id = gen_random_uuid() where schedule_id = ${id} and seat_number = 1`
      // A later writer commits first: the next build sees its write, but not the slow one's.
      await ctx.db.sql`update seats set price = 2000 where schedule_id = ${id} and seat_number = 2`
      const during = JSON.parse(await text(await shop.seatMap(id, false)))
      expect(during).toEqual([
        { number: 1, price: 1000, status: 'AVAILABLE' },
        { number: 2, price: 2000, status: 'AVAILABLE' },
      ])
      expect(JSON.parse(await text(await shop.compactSeatMap(id))).status).toBe('AA')
      await slow`commit`
    } finally {
      slow.release()
    }
    expect(JSON.parse(await text(await shop.seatMap(id, false)))[0].status).toBe('SOLD')
    expect(JSON.parse(await text(await shop.compactSeatMap(id))).status).toBe('SA')
  })
})
