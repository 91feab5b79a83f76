import { afterAll, beforeAll, expect, test } from 'bun:test'
import { userTokens } from '../../src/identity/user-tokens'
import { ADMIN_KEY, TEST_SECRET } from '../support/app'
import { createTestDatabase, type TestDatabase } from '../support/database'
import { http, startInstances, stopInstances, type Instance } from '../support/instances'
import { describeWith, serviceUrl } from '../support/services'

// The random start over three real instances: 1,000 people join before the opening (spread over the
// instances, many at once), 50 more after it. Before the opening nobody has a position and nobody is
// admitted; at the opening the pre-queue gets an order unrelated to the join order (Spearman's rank
// correlation near 0, where FIFO gives 1), later arrivals queue FIFO behind it, and admission then takes
// the line from the front, never past the capacity.

const EARLY = 1000
const LATE = 50
const MAX_ACTIVE = 300

/** Spearman's rank correlation of two rankings of the same items (no ties). */
function rankCorrelation(a: number[], b: number[]) {
  const n = a.length
  const rank = (xs: number[]) => {
    const r = new Array<number>(n)
    xs.map((x, i) => [x, i] as const).sort((p, q) => p[0] - q[0]).forEach(([, i], k) => (r[i] = k))
    return r
  }
  const ra = rank(a)
  const rb = rank(b)
  return 1 - (6 * ra.reduce((sum, x, i) => sum + (x - rb[i]!) ** 2, 0)) / (n * (n * n - 1))
}

/** The join seq a queue token names (its payload is readable; only its signature is secret). */
const seqOf = (queueToken: string) => JSON.parse(Buffer.from(queueToken.split('.')[0]!, 'base64url').toString()).s as number

async function inBatches<T, R>(items: T[], size: number, work: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = []
  for (let i = 0; i < items.length; i += size) out.push(...(await Promise.all(items.slice(i, i + size).map((item, j) => work(item, i + j)))))
  return out
}

function preQueueSuite(store: string, services: ('DATABASE_URL' | 'REDIS_URL')[], env: () => Record<string, string>) {
  describeWith(services, `the pre-queue's random start over three instances (${store} store)`, () => {
    let db: TestDatabase
    let instances: Instance[] = []
    beforeAll(async () => {
      db = await createTestDatabase(serviceUrl('DATABASE_URL')!)
      instances = await startInstances(3, {
        DATABASE_URL: db.url,
        DATABASE_POOL_SIZE: '6',
        QUEUE_MAX_ACTIVE: String(MAX_ACTIVE),
        QUEUE_ADMIT_PER_SECOND: '200',
        QUEUE_TICK_MS: '1000',
        ...env(),
      })
    }, 60_000)
    afterAll(async () => {
      await stopInstances(instances)
      await db?.drop()
    })

    test('a concert created with an opening on one instance: joins and status reads on the others at once say so, before any tick', async () => {
      const admin = { 'x-admin-key': ADMIN_KEY }
      const issuer = userTokens(TEST_SECRET)
      const create = async (on: number, opensAt: string) => {
        const created = await http(instances[on % 3]!.url, '/v1/admin/concerts', {
          headers: admin,
          body: { title: 'Opens later', salesOpenAt: opensAt, schedules: [{ startsAt: '2027-06-01T19:00:00Z', seatCount: 10, price: 1000 }] },
        })
        expect(created.status).toBe(201)
        return created.body.concertId as string
      }
      for (let round = 0; round < 3; round++) {
        const opensAt = new Date(Date.now() + 3_600_000).toISOString()
        // No wait for the settings tick: the other two instances have never seen these concerts.
        const joinedElsewhere = await create(round, opensAt)
        const joins = await Promise.all(
          [1, 2].map(async (k) => {
            const token = await issuer.issue(`opens-later-${store}-${round}-${k}`)
            return (await http(instances[(round + k) % 3]!.url, '/v1/queue/tokens', { token, body: { concertId: joinedElsewhere } })).body
          }),
        )
        for (const body of joins) expect(body).toMatchObject({ status: 'WAITING', position: null, opensAt })

        const readElsewhere = await create(round, opensAt)
        const token = await issuer.issue(`opens-later-${store}-${round}-here`)
        const joined = await http(instances[round % 3]!.url, '/v1/queue/tokens', { token, body: { concertId: readElsewhere } })
        expect(joined.body).toMatchObject({ status: 'WAITING', position: null, opensAt })
        const reads = await Promise.all(
          [1, 2].map(async (k) => (await http(instances[(round + k) % 3]!.url, '/v1/queue/status', { token, queueToken: joined.body.token })).body),
        )
        for (const body of reads) expect(body).toMatchObject({ status: 'WAITING', position: null, opensAt })
      }
    })

    test(`${EARLY} early joiners get a random order at the opening; ${LATE} later ones queue FIFO behind; admission takes the front`, async () => {
      const at = (i: number) => instances[i % instances.length]!.url
      const admin = { 'x-admin-key': ADMIN_KEY }
      const opensAtMs = Date.now() + 9000
      const created = await http(at(0), '/v1/admin/concerts', {
        headers: admin,
        body: {
          title: 'Fair start',
          salesOpenAt: new Date(opensAtMs).toISOString(),
          schedules: [{ startsAt: '2027-06-01T19:00:00Z', seatCount: 2000, price: 1000 }],
        },
      })
      expect(created.status).toBe(201)
      const concertId = created.body.concertId as string
      const line = `/v1/admin/concerts/${concertId}/queue`
      expect((await http(at(0), line, { headers: admin })).body.salesOpenAt).toBe(new Date(opensAtMs).toISOString())
      // Every instance reads the settings each tick.
      await Bun.sleep(1500)

      const issuer = userTokens(TEST_SECRET)
      const people = await Promise.all(
        Array.from({ length: EARLY + LATE }, async (_, i) => ({ i, token: await issuer.issue(`fair-${store}-${i}`), queueToken: '', seq: 0 })),
      )
      const join = async (p: (typeof people)[number]) => {
        const joined = await http(at(p.i), '/v1/queue/tokens', { token: p.token, body: { concertId } })
        expect(joined.status).toBe(201)
        p.queueToken = joined.body.token
        p.seq = seqOf(p.queueToken)
        return joined.body
      }
      const status = async (p: (typeof people)[number], i: number) =>
        (await http(at(i + 1), '/v1/queue/status', { token: p.token, queueToken: p.queueToken })).body

      // Before the opening: 1,000 join, 25 at a time over the three instances.
      const early = people.slice(0, EARLY)
      const joined = await inBatches(early, 25, join)
      expect(Date.now()).toBeLessThan(opensAtMs) // else the test proves nothing: the joins were too slow
      for (const body of joined) {
        expect(body).toMatchObject({ status: 'WAITING', position: null, estimatedWaitSeconds: null, opensAt: new Date(opensAtMs).toISOString() })
      }
      // The operator pauses admission so that the drawn order can be read before anyone is admitted.
      expect((await http(at(2), line, { method: 'PATCH', headers: admin, body: { paused: true } })).status).toBe(200)
      while (Date.now() < opensAtMs - 300) {
        expect((await http(at(0), line, { headers: admin })).body.active).toBe(0)
        await Bun.sleep(500)
      }

      // After the opening (and its draw, at the next tick): 50 more join.
      await Bun.sleep(opensAtMs - Date.now() + 1500)
      const late = people.slice(EARLY)
      for (const p of late) await join(p)

      const positions = (await inBatches(people, 50, status)).map((s) => {
        expect(s.status).toBe('WAITING')
        expect(s.opensAt).toBeNull()
        return s.position as number
      })
      // Everyone has a distinct place: the early ones 1..1000 in some order, the late ones behind in join order.
      expect(positions.slice(0, EARLY).sort((a, b) => a - b)).toEqual(early.map((_, i) => i + 1))
      expect(positions.slice(EARLY)).toEqual(late.map((_, i) => EARLY + i + 1))
      const rho = rankCorrelation(early.map((p) => p.seq), positions.slice(0, EARLY))
      console.log(`${store}: rank correlation of join order and drawn place over ${EARLY} people: ${rho.toFixed(4)}`)
      // FIFO gives 1. A random order of 1,000 has a standard deviation of 0.032: 0.15 is 4.7 of them.
      expect(Math.abs(rho)).toBeLessThan(0.15)

      // Resumed: admission takes the drawn order from the front, up to the capacity.
      expect((await http(at(0), line, { method: 'PATCH', headers: admin, body: { paused: false } })).status).toBe(200)
      let active = 0
      for (let round = 0; round < 40 && active < MAX_ACTIVE; round++) {
        await Bun.sleep(250)
        active = (await http(at(round), line, { headers: admin })).body.active
        expect(active).toBeLessThanOrEqual(MAX_ACTIVE)
      }
      expect(active).toBe(MAX_ACTIVE)
      // Sessions last 10 minutes, so whoever was admitted is still ACTIVE: had anyone been admitted out
      // of the drawn order, it would show here. (Read once admission is full, so no tick moves it meanwhile.)
      await Bun.sleep(1200)
      const final = await inBatches(people, 50, status)
      const activePlaces = final.map((s, i) => (s.status === 'ACTIVE' ? positions[i]! : null)).filter((p): p is number => p !== null)
      expect(activePlaces.sort((a, b) => a - b)).toEqual(Array.from({ length: MAX_ACTIVE }, (_, i) => i + 1))
    }, 90_000)
  })
}

preQueueSuite('redis-tcp', ['DATABASE_URL', 'REDIS_URL'], () => ({ REDIS_URL: serviceUrl('REDIS_URL')! }))
preQueueSuite('postgres', ['DATABASE_URL'], () => ({}))
