import { afterAll, beforeAll, expect, test } from 'bun:test'
import { redisStore } from '../../src/waiting-room/redis-store'
import { clusterTransport } from '../../src/waiting-room/redis/cluster'
import { keySlot } from '../../src/waiting-room/redis/slots'
import type { LineLimits, WaitingRoomStore } from '../../src/waiting-room/store'
import { startRedisCluster, type RedisCluster } from '../support/redis-cluster'
import { describeWith } from '../support/services'
import { testPrefix } from '../support/redis'

// What only a cluster can show: lines spread over every master, and a resharding under load (slots
// moving between masters with `redis-cli --cluster reshard` while users join) loses no place and gives
// none twice.
const limits: LineLimits = { maxActive: 100, admitPerSecond: 100, activeTtlSeconds: 60, waitingIdleSeconds: 60 }

interface Master {
  id: string
  port: number
  slots: Set<number>
}

async function masters(cluster: RedisCluster): Promise<Master[]> {
  const text = await cluster.cli(cluster.ports[0]!, 'cluster', 'nodes')
  return text
    .trim()
    .split('\n')
    .map((line) => line.split(' '))
    .filter((f) => f[2]!.includes('master'))
    .map((f) => {
      const slots = new Set<number>()
      for (const range of f.slice(8)) {
        if (range.startsWith('[')) continue // a slot in migration
        const [from, to] = range.split('-').map(Number)
        for (let s = from!; s <= (to ?? from!); s++) slots.add(s)
      }
      return { id: f[0]!, port: Number(f[1]!.split(':')[1]!.split('@')[0]), slots }
    })
}

/** A concert id whose line lives in one of these slots. */
function concertIn(slots: Set<number>): string {
  for (;;) {
    const id = crypto.randomUUID()
    if (slots.has(keySlot(`{${id}}`))) return id
  }
}

describeWith(['REDIS_URL'], 'waiting room on a Redis Cluster', () => {
  let cluster: RedisCluster
  let store: WaitingRoomStore
  beforeAll(async () => {
    cluster = await startRedisCluster()
    store = redisStore(clusterTransport(cluster.nodes), { prefix: testPrefix() })
  }, 60_000)
  afterAll(async () => {
    await store?.close()
    await cluster?.stop()
  })

  test('our slot function agrees with the cluster (CLUSTER KEYSLOT) on line keys and odd keys', async () => {
    const keys = [
      ...Array.from({ length: 20 }, () => `wr:{${crypto.randomUUID()}}:waiting`),
      'plain', '{}', 'a{}b', '{a}{b}', 'x{y', '}{z}', 'wr:lines:{0}', 'ü{ñ}',
    ]
    for (const key of keys) expect(keySlot(key)).toBe(Number(await cluster.cli(cluster.ports[0]!, 'cluster', 'keyslot', key)))
  })

  test('lines spread over all three masters, each line in one slot, and every line is listed', async () => {
    const nodes = await masters(cluster)
    expect(nodes.length).toBe(3)
    const concerts = Array.from({ length: 30 }, () => crypto.randomUUID())
    await Promise.all(concerts.map((c) => store.join(c, 'spread-user', limits)))

    const linesPerMaster = await Promise.all(
      nodes.map(async (node) => {
        const here = concerts.filter((c) => node.slots.has(keySlot(`{${c}}`)))
        // The line's keys are on the master that serves its slot, not anywhere else.
        for (const c of here) expect(Number(await cluster.cli(node.port, 'cluster', 'countkeysinslot', String(keySlot(`{${c}}`))))).toBeGreaterThan(0)
        return here.length
      }),
    )
    await store.lines() // the first call also computes the slot tags
    const started = performance.now()
    const listed = await store.lines()
    const listMs = performance.now() - started
    console.log(`lines per master: ${linesPerMaster.join(', ')}; listing all 16,384 slot registries took ${listMs.toFixed(1)} ms`)

    expect(linesPerMaster.every((n) => n > 0)).toBe(true)
    expect(linesPerMaster.reduce((a, b) => a + b, 0)).toBe(concerts.length)
    for (const c of concerts) expect(listed).toContain(c)
  })

  test('resharding while users join: every user has exactly one place, positions 1..N, no seq given twice', async () => {
    const [from, to] = await masters(cluster)
    // redis-cli moves a source's lowest slots first; the lines under test live in those slots.
    const moving = new Set([...from!.slots].sort((a, b) => a - b).slice(0, 200))
    const concerts = Array.from({ length: 12 }, () => concertIn(moving))
    const usersPerLine = 150
    const seqs = new Map<string, number>() // `${concert}/${user}` -> seq
    let unavailable = 0
    let duplicates = 0

    // A client whose join meets a 503 retries, as real clients do; a repeated join must give the same place.
    async function joinUntilAnswered(concertId: string, userId: string) {
      for (;;) {
        try {
          const joined = await store.join(concertId, userId, limits)
          if (joined === 'SOLD_OUT') throw new Error('unexpected SOLD_OUT')
          const key = `${concertId}/${userId}`
          const before = seqs.get(key)
          if (before !== undefined && before !== joined.seq) duplicates++
          seqs.set(key, joined.seq)
          return
        } catch (error) {
          if (!(error instanceof Error && error.message.includes('unavailable'))) throw error
          unavailable++
          if (process.env.DEBUG_CLUSTER) console.log(String((error as any).cause?.message ?? error))
          await Bun.sleep(20)
        }
      }
    }

    let joining = true
    const joiners = concerts.map(async (concertId) => {
      for (let round = 0; joining || round < 2; round++) {
        for (let u = 0; u < usersPerLine; u++) {
          // Everyone joins in the first round; later rounds join again (a heartbeat, the same place).
          if (round > 0 && u % 7 !== round % 7) continue
          await joinUntilAnswered(concertId, `user-${u}`)
        }
      }
    })
    await Bun.sleep(300)
    const started = performance.now()
    await Bun.spawn(
      ['redis-cli', '--cluster', 'reshard', `127.0.0.1:${from!.port}`,
        '--cluster-from', from!.id, '--cluster-to', to!.id, '--cluster-slots', String(moving.size),
        '--cluster-yes', '--cluster-pipeline', '1'],
      { stdout: 'ignore', stderr: 'inherit' },
    ).exited
    const reshardMs = performance.now() - started
    joining = false
    await Promise.all(joiners)

    const after = await masters(cluster)
    const movedLines = concerts.filter((c) => after.find((m) => m.id === to!.id)!.slots.has(keySlot(`{${c}}`)))
    console.log(
      `resharded ${moving.size} slots in ${reshardMs.toFixed(0)} ms while ${concerts.length} lines took joins; ` +
        `${movedLines.length} lines moved; 503s retried: ${unavailable}; places changed by a repeated join: ${duplicates}`,
    )
    // The test means nothing unless the lines under load really changed master.
    expect(movedLines.length).toBe(concerts.length)
    expect(duplicates).toBe(0)

    for (const concertId of concerts) {
      const stats = await store.stats(concertId, limits)
      expect(stats.waiting).toBe(usersPerLine)
      const mine = [...seqs.entries()].filter(([k]) => k.startsWith(`${concertId}/`))
      expect(new Set(mine.map(([, seq]) => seq)).size).toBe(usersPerLine)
      const positions = await Promise.all(
        mine.map(async ([key, seq]) => (await store.poll({ concertId, userId: key.split('/')[1]!, seq }, limits)).position),
      )
      expect(positions.sort((a, b) => a! - b!)).toEqual(Array.from({ length: usersPerLine }, (_, i) => i + 1))
    }
    expect((await store.lines()).filter((c) => concerts.includes(c)).length).toBe(concerts.length)
  }, 120_000)

  // Last: it leaves the cluster without one master.
  test('a master lost: its lines answer 503 within 2 s and the store is not ready; lines on the other masters are served at once', async () => {
    const [lost, kept] = await masters(cluster)
    const onLost = concertIn(lost!.slots)
    const onKept = concertIn(kept!.slots)
    await store.join(onLost, 'before', limits)

    await cluster.kill(lost!.port)
    const started = performance.now()
    const refused = await store.join(onLost, 'after', limits).then(
      () => 'answered',
      (error) => (error as { code?: string }).code,
    )
    const ms = performance.now() - started
    const ready = await store.ping().then(() => 'ready', (error) => (error as { code?: string }).code)
    // At once, and before the cluster marks the master failed (cluster-node-timeout), the other masters'
    // lines keep working: the failure pauses only the lost master's slots, not the whole store.
    const elsewhere = await store.join(onKept, 'elsewhere', limits).then((j) => (j === 'SOLD_OUT' ? j : j.view.status), (e) => String(e))

    console.log(`a lost master: its line answered ${refused} after ${ms.toFixed(0)} ms; ping ${ready}; a line on another master: ${elsewhere}`)
    expect(refused).toBe('SERVICE_UNAVAILABLE')
    expect(ms).toBeLessThan(2100)
    expect(ready).toBe('SERVICE_UNAVAILABLE')
    expect(elsewhere).toBe('WAITING')
  }, 30_000)
})
