import { expect, test } from 'bun:test'
import { ADMIN_KEY, call, onFreshDatabase, testServer } from '../support/app'
import { createConcert, join, userToken } from '../support/scenario'
import { describeWith } from '../support/services'

const admin = { 'x-admin-key': ADMIN_KEY }

describeWith(['DATABASE_URL'], 'operating a line (admin API)', () => {
  const ctx = onFreshDatabase({ QUEUE_MAX_ACTIVE: '10', QUEUE_ADMIT_PER_SECOND: '100' })
  const line = (concertId: string) => `/v1/admin/concerts/${concertId}/queue`

  async function queue(concertId: string, names: string[]) {
    const places = []
    for (const name of names) {
      const token = await userToken(ctx.server, name)
      places.push({ token, queueToken: (await join(ctx.server, token, concertId)).token })
    }
    return places
  }
  const statusOf = async (p: { token: string; queueToken: string }) => (await call(ctx.server, '/v1/queue/status', p)).body.status

  test('the read-out shows settings, waiting, active, admitted per minute and the oldest wait', async () => {
    const { concertId } = await createConcert(ctx.server)
    await queue(concertId, ['r-1', 'r-2', 'r-3'])
    const before = await call(ctx.server, line(concertId), { headers: admin })
    expect(before.status).toBe(200)
    expect(before.body).toEqual({
      concertId,
      paused: false,
      maxActive: 10,
      admitPerSecond: 100,
      waiting: 3,
      active: 0,
      admittedLastMinute: 0,
      oldestWaitSeconds: expect.any(Number),
      soldOut: false,
      salesOpenAt: null,
    })
    await ctx.server.admission.tick()
    const after = await call(ctx.server, line(concertId), { headers: admin })
    expect(after.body).toMatchObject({ waiting: 0, active: 3, admittedLastMinute: 3, oldestWaitSeconds: null })
  })

  test('pausing stops admission and keeps the line; resuming admits again', async () => {
    const { concertId } = await createConcert(ctx.server)
    const [a] = await queue(concertId, ['p-1'])
    const paused = await call(ctx.server, line(concertId), { method: 'PATCH', headers: admin, body: { paused: true } })
    expect(paused.body).toMatchObject({ paused: true, waiting: 1 })
    await ctx.server.admission.tick()
    expect(await statusOf(a!)).toBe('WAITING')
    // The first place of a paused line is not told to poll twice a second (helper-52).
    const waitingWhilePaused = await call(ctx.server, '/v1/queue/status', a!)
    expect(waitingWhilePaused.body).toMatchObject({ position: 1, pollAfterMs: 5_000 })
    await call(ctx.server, line(concertId), { method: 'PATCH', headers: admin, body: { paused: false } })
    await ctx.server.admission.tick()
    expect(await statusOf(a!)).toBe('ACTIVE')
  })

  test('capacity and rate changed on one instance apply on another at its next tick', async () => {
    const other = await testServer({ DATABASE_URL: ctx.db.url, QUEUE_MAX_ACTIVE: '10', QUEUE_ADMIT_PER_SECOND: '100' })
    try {
      const { concertId } = await createConcert(ctx.server)
      const places = await queue(concertId, ['k-1', 'k-2', 'k-3', 'k-4'])
      const changed = await call(ctx.server, line(concertId), { method: 'PATCH', headers: admin, body: { maxActive: 1 } })
      expect(changed.body).toMatchObject({ maxActive: 1, admitPerSecond: 100 })
      await other.admission.tick()
      expect(await Promise.all(places.map(statusOf))).toEqual(['ACTIVE', 'WAITING', 'WAITING', 'WAITING'])
      const reset = await call(ctx.server, line(concertId), { method: 'PATCH', headers: admin, body: { maxActive: null, admitPerSecond: 2 } })
      expect(reset.body).toMatchObject({ maxActive: 10, admitPerSecond: 2 })
      await Bun.sleep(1000 - (Date.now() % 1000) + 20) // a fresh second of the rate budget
      await other.admission.tick()
      expect(await Promise.all(places.map(statusOf))).toEqual(['ACTIVE', 'ACTIVE', 'ACTIVE', 'WAITING'])
    } finally {
      await other.stop()
    }
  })

  test('an opening cleared before it came: the pre-queue is told its places in join order, also one given by an instance that had not heard yet (helper-34)', async () => {
    const other = await testServer({ DATABASE_URL: ctx.db.url, QUEUE_MAX_ACTIVE: '10', QUEUE_ADMIT_PER_SECOND: '100' })
    try {
      const { concertId } = await createConcert(ctx.server)
      const opening = new Date(Date.now() + 60_000).toISOString()
      await call(ctx.server, line(concertId), { method: 'PATCH', headers: admin, body: { salesOpenAt: opening, paused: true } })
      const early = await queue(concertId, ['o-1', 'o-2'])
      const onOther = async (name: string) => {
        const token = await userToken(other, name)
        return { token, queueToken: (await join(other, token, concertId)).token }
      }
      const third = await onOther('o-3')
      const position = async (p: { token: string; queueToken: string }) => (await call(ctx.server, '/v1/queue/status', p)).body
      expect(await position(third)).toMatchObject({ status: 'WAITING', position: null, opensAt: opening })

      const cleared = await call(ctx.server, line(concertId), { method: 'PATCH', headers: admin, body: { salesOpenAt: null } })
      expect(cleared.body).toMatchObject({ salesOpenAt: null })
      // At once, for every place of the pre-queue, whichever instance gave it.
      expect(await Promise.all([...early, third].map(async (p) => (await position(p)).position))).toEqual([1, 2, 3])
      // The other instance has not heard yet: it still gives a place in the pre-queue, until its refresh.
      const late = await onOther('o-4')
      expect((await position(late)).position).toBeNull()
      await other.admission.refreshSettings()
      expect(await position(late)).toMatchObject({ status: 'WAITING', position: 4, opensAt: null })
    } finally {
      await other.stop()
    }
  })

  test('an opening set on an open line: nobody is admitted until it comes, and the numbered places are told so (helper-60: "next, 1 s")', async () => {
    const { concertId } = await createConcert(ctx.server)
    const [a] = await queue(concertId, ['f-1'])
    const opensAtMs = Date.now() + 3_600_000
    await call(ctx.server, line(concertId), { method: 'PATCH', headers: admin, body: { salesOpenAt: new Date(opensAtMs).toISOString() } })
    await ctx.server.admission.tick()
    const told = (await call(ctx.server, '/v1/queue/status', a!)).body
    expect(told).toMatchObject({ status: 'WAITING', position: 1, pollAfterMs: 30_000, opensAt: null })
    expect(told.estimatedWaitSeconds).toBeGreaterThanOrEqual(3_590)
    expect(told.estimatedWaitSeconds).toBeLessThanOrEqual(3_602)
    await call(ctx.server, line(concertId), { method: 'PATCH', headers: admin, body: { salesOpenAt: null } })
    await ctx.server.admission.tick()
    expect(await statusOf(a!)).toBe('ACTIVE')
  })

  test("ending a user's session frees the slot for the next person at the next tick", async () => {
    const { concertId } = await createConcert(ctx.server)
    await call(ctx.server, line(concertId), { method: 'PATCH', headers: admin, body: { maxActive: 1 } })
    const [a, b] = await queue(concertId, ['e-1', 'e-2'])
    await ctx.server.admission.tick()
    const ended = await call(ctx.server, `${line(concertId)}/sessions/e-1`, { method: 'DELETE', headers: admin })
    expect(ended.status).toBe(200)
    expect(await statusOf(a!)).toBe('EXPIRED')
    await ctx.server.admission.tick()
    expect(await statusOf(b!)).toBe('ACTIVE')
    expect((await call(ctx.server, `${line(concertId)}/sessions/e-1`, { method: 'DELETE', headers: admin })).status).toBe(404)
  })

  test('bad requests: no key 401, unknown concert 404, empty or out-of-range patches 400', async () => {
    const { concertId } = await createConcert(ctx.server)
    const keyless = await call(ctx.server, line(concertId))
    expect(keyless.status).toBe(401)
    // The title names no bearer token: the admin API asks for its key (helper-59).
    expect(keyless.body.title).toBe('Valid credentials are required')
    expect(keyless.body.detail).toBe('Send the X-Admin-Key header')
    expect((await call(ctx.server, line(crypto.randomUUID()), { headers: admin })).status).toBe(404)
    for (const body of [{}, { maxActive: 0 }, { admitPerSecond: 1.5 }, { paused: 'yes' }, { other: 1 }]) {
      const reply = await call(ctx.server, line(concertId), { method: 'PATCH', headers: admin, body })
      expect(reply.status).toBe(400)
    }
  })
})
