import { expect, test } from 'bun:test'
import { ADMIN_KEY, call, onEachDatabase } from '../support/app'
import { hold, shopper } from '../support/scenario'

// The compact seat map (GET /v1/schedules/{id}/seat-map): the same facts as the full map in a few bytes a
// seat, behind the same guard, shared and conditional like it.

onEachDatabase('the compact seat map', {}, (ctx) => {
  async function concertWithPrices() {
    const reply = await call(ctx.server, '/v1/admin/concerts', {
      headers: { 'x-admin-key': ADMIN_KEY },
      body: { title: 'Compact', schedules: [{ startsAt: '2027-04-01T19:00:00Z', seatCount: 6, price: 500 }] },
    })
    const scheduleId = reply.body.schedules[0].scheduleId as string
    // Two price runs: seats 1-3 at 900, 4-6 at 500.
    await ctx.db.sql`update seats set price = 900 where schedule_id = ${scheduleId} and seat_number <= 3`
    return { concertId: reply.body.concertId as string, scheduleId }
  }

  test('tells what the full map tells: a character per seat (A, H, S) and the prices as runs', async () => {
    const { concertId, scheduleId } = await concertWithPrices()
    const ann = await shopper(ctx.server, 'cm-ann', concertId, 5000)
    const bob = await shopper(ctx.server, 'cm-bob', concertId, 5000)
    await hold(ctx.server, ann, scheduleId, 2)
    const sold = await hold(ctx.server, bob, scheduleId, 5)
    await call(ctx.server, '/v1/payments', { ...bob, body: { reservationId: sold.body.reservationId } })

    const compact = await call(ctx.server, `/v1/schedules/${scheduleId}/seat-map`, ann)
    const full = await call(ctx.server, `/v1/schedules/${scheduleId}/seats`, ann)

    expect(compact.status).toBe(200)
    expect(compact.body).toEqual({ seats: 6, status: 'AHAASA', prices: [{ from: 1, to: 3, price: 900 }, { from: 4, to: 6, price: 500 }] })
    const fromCompact = [...compact.body.status].map((c: string, i: number) => ({
      number: i + 1,
      price: compact.body.prices.find((p: { from: number; to: number }) => p.from <= i + 1 && i + 1 <= p.to).price,
      status: { A: 'AVAILABLE', H: 'HELD', S: 'SOLD' }[c],
    }))
    expect(fromCompact).toEqual(full.body)
  })

  test('needs an ACTIVE queue token of the concert, answers 304 to its ETag, and refuses query fields', async () => {
    const { concertId, scheduleId } = await concertWithPrices()
    const ann = await shopper(ctx.server, 'cm-guard', concertId)
    expect((await call(ctx.server, `/v1/schedules/${scheduleId}/seat-map`, { token: ann.token })).status).toBe(401)
    const first = await call(ctx.server, `/v1/schedules/${scheduleId}/seat-map`, ann)
    const again = await call(ctx.server, `/v1/schedules/${scheduleId}/seat-map`, { ...ann, headers: { 'if-none-match': first.headers.get('etag')! } })
    expect([first.status, again.status, again.text]).toEqual([200, 304, ''])
    expect((await call(ctx.server, `/v1/schedules/${scheduleId}/seat-map?available=true`, ann)).status).toBe(400)
    expect((await call(ctx.server, '/v1/schedules/00000000-0000-4000-8000-000000000000/seat-map', ann)).status).toBe(404)
  })

  test('a 10,000-seat map is a small fraction of the full map', async () => {
    const reply = await call(ctx.server, '/v1/admin/concerts', {
      headers: { 'x-admin-key': ADMIN_KEY },
      body: { title: 'Big hall', schedules: [{ startsAt: '2027-04-02T19:00:00Z', seatCount: 10_000, price: 500 }] },
    })
    const scheduleId = reply.body.schedules[0].scheduleId as string
    const ann = await shopper(ctx.server, 'cm-big', reply.body.concertId)
    const compact = await call(ctx.server, `/v1/schedules/${scheduleId}/seat-map`, ann)
    const full = await call(ctx.server, `/v1/schedules/${scheduleId}/seats`, ann)
    expect(compact.body.status).toBe('A'.repeat(10_000))
    expect(compact.text.length * 20).toBeLessThan(full.text.length)
  })
})
