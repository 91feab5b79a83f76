import { afterAll, beforeAll, expect, test } from 'bun:test'
import { RedisClient } from 'bun'
import { redisStore } from '../../src/waiting-room/redis-store'
import { tcpTransport } from '../../src/waiting-room/redis/tcp'
import type { LineLimits, Ticket, WaitingRoomStore } from '../../src/waiting-room/store'
import { describeWith, serviceUrl } from '../support/services'
import { deleteKeys, testPrefix } from '../support/redis'

// The Redis store sweeps idle waiters in bounded steps (src/waiting-room/redis/README.md, "Bounded
// work"): a call that answers positions first removes up to 100 idle waiters per place it asks about,
// in one sweep. While more than that are still in the line, liveness is read from each heartbeat: an
// idle place is never taken for a live one.

const limits: LineLimits = { maxActive: 10, admitPerSecond: 10, activeTtlSeconds: 60, waitingIdleSeconds: 2 }
const IDLE_MS = limits.waitingIdleSeconds * 1000

describeWith(['REDIS_URL'], 'Redis store: the sweep of idle waiters', () => {
  const redisUrl = serviceUrl('REDIS_URL')!
  const prefix = testPrefix()
  let store: WaitingRoomStore
  beforeAll(() => {
    store = redisStore(tcpTransport(redisUrl), { prefix })
  })
  afterAll(async () => {
    await store.close()
    await deleteKeys(redisUrl, prefix)
  })

  async function joinMany(concertId: string, users: string[]): Promise<Ticket[]> {
    const joined = await Promise.all(users.map((userId) => store.join(concertId, userId, limits)))
    return joined.map((j, i) => {
      if (j === 'SOLD_OUT') throw new Error('unexpected SOLD_OUT')
      return { concertId, userId: users[i]!, seq: j.seq }
    })
  }
  const names = (stem: string, n: number) => Array.from({ length: n }, (_, i) => `${stem}-${i}`)
  const sleepUntil = (at: number) => Bun.sleep(Math.max(0, at - Date.now()))

  test.concurrent('one sweep serves a whole call: with up to 100 idle waiters per place asked about, every position is exact', async () => {
    const concertId = crypto.randomUUID()
    await joinMany(concertId, names('idle', 250))
    const live = []
    for (const userId of ['x', 'y', 'z']) live.push(...(await joinMany(concertId, [userId])))
    const joined = Date.now()
    // The live three keep their places; the 250 ahead of them go idle.
    await sleepUntil(joined + IDLE_MS / 2)
    await store.pollMany(concertId, live, limits)
    await sleepUntil(joined + IDLE_MS + 400)

    // A sweep of 100 before each place would have answered 151, 52, 3.
    expect((await store.pollMany(concertId, live, limits)).map((v) => v.position)).toEqual([1, 2, 3])
  }, 20_000)

  test.concurrent('the sweep is bounded: a call about 25 places removes 2,500 idle waiters (more than one step of 1,000 takes), no more', async () => {
    const concertId = crypto.randomUUID()
    await joinMany(concertId, names('idle', 3000))
    const live = await joinMany(concertId, names('live', 25))
    const joined = Date.now()
    await sleepUntil(joined + IDLE_MS / 2)
    await store.pollMany(concertId, live, limits)
    await sleepUntil(joined + IDLE_MS + 400)

    const views = await store.pollMany(concertId, live, limits)

    // 500 idle waiters are left ahead of the live ones: their positions over-estimate, never under.
    expect(views.map((v) => v.position)).toEqual(live.map((_, i) => 501 + i))
    const redis = new RedisClient(redisUrl)
    try {
      expect(await redis.send('ZCARD', [`${prefix}:{${concertId}}:waiting`])).toBe(525)
    } finally {
      redis.close()
    }
  }, 30_000)

  test.concurrent('more idle waiters than one sweep removes: an idle place reads EXPIRED and joining again gives a fresh one', async () => {
    const concertId = crypto.randomUUID()
    await joinMany(concertId, names('idle', 500))
    // Joined last, so swept last: the sweeps below (400 in all) do not reach this one.
    const [late] = await joinMany(concertId, ['late'])
    const [live] = await joinMany(concertId, ['live'])
    const joined = Date.now()
    await sleepUntil(joined + IDLE_MS / 2)
    await store.poll(live!, limits)
    await sleepUntil(joined + IDLE_MS + 400)

    expect(await store.check(late!, limits)).toMatchObject({ status: 'EXPIRED', position: null })
    expect((await store.pollMany(concertId, [late!, live!], limits)).map((v) => v.status)).toEqual(['EXPIRED', 'WAITING'])
    const again = await store.join(concertId, 'late', limits)
    expect(again).toMatchObject({ created: true, view: { status: 'WAITING' } })
    expect(again !== 'SOLD_OUT' && again.seq).toBeGreaterThan(live!.seq)
  }, 20_000)
})
