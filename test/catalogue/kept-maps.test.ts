import { describe, expect, test } from 'bun:test'
import { keptMaps, type BuiltMap } from '../../src/catalogue/kept-maps'
import { sharedAnswer, type SharedAnswer } from '../../src/http/shared-answer'

// A kept map is built once and served until a check finds a change; never older than the cache window.

/** A schedule whose "database" the test changes by hand, with counts of builds and checks. */
function fakeSchedule(options: { buildMs?: number } = {}) {
  const s = {
    version: 0,
    builds: 0,
    checks: 0,
    buildStarts: [] as number[],
    async build(): Promise<BuiltMap> {
      s.builds++
      s.buildStarts.push(performance.now())
      const seen = s.version
      if (options.buildMs) await Bun.sleep(options.buildMs)
      return { answer: sharedAnswer(JSON.stringify({ seen, pad: 'x'.repeat(100) })), snapshot: String(seen), nextLapse: null }
    },
    async unchanged(_scheduleId: string, map: BuiltMap) {
      s.checks++
      return map.snapshot === String(s.version)
    },
  }
  return s
}

const seenIn = async (answer: SharedAnswer) => JSON.parse(await answer.plain.text()).seen as number

describe('kept seat maps', () => {
  test('within the window a map is served as is; after it, an unchanged map is checked, not built again', async () => {
    const s = fakeSchedule()
    const maps = keptMaps({ cacheMs: 200, unchanged: s.unchanged, byteBudget: 1e6 })
    const first = await maps('k', 'sched', s.build)
    expect(await maps('k', 'sched', s.build)).toBe(first)
    expect([s.builds, s.checks]).toEqual([1, 0])
    await Bun.sleep(250)
    expect(await maps('k', 'sched', s.build)).toBe(first) // the same bytes and compressed forms
    expect([s.builds, s.checks]).toEqual([1, 1])
  })

  test('a change is built once it is seen, and is seen within the window', async () => {
    const s = fakeSchedule()
    const maps = keptMaps({ cacheMs: 40, unchanged: s.unchanged, byteBudget: 1e6 })
    await maps('k', 'sched', s.build)
    s.version = 1
    await Bun.sleep(60)
    expect(await seenIn(await maps('k', 'sched', s.build))).toBe(1)
    expect(s.builds).toBe(2)
  })

  test('with no window every read checks, and a change shows at once', async () => {
    const s = fakeSchedule()
    const maps = keptMaps({ cacheMs: 0, unchanged: s.unchanged, byteBudget: 1e6 })
    const first = await maps('k', 'sched', s.build)
    expect(await maps('k', 'sched', s.build)).toBe(first)
    s.version = 1
    expect(await seenIn(await maps('k', 'sched', s.build))).toBe(1)
    expect([s.builds, s.checks]).toEqual([2, 2])
  })

  test('the same bytes built again keep the earlier answer (and its compressed forms) with the new snapshot', async () => {
    let snapshot = 0
    const build = async (): Promise<BuiltMap> => ({ answer: sharedAnswer('[1,2,3]'), snapshot: String(++snapshot), nextLapse: null })
    const maps = keptMaps({ cacheMs: 0, unchanged: async () => false, byteBudget: 1e6 })
    const first = await maps('k', 'sched', build)
    expect(await maps('k', 'sched', build)).toBe(first)
    expect(snapshot).toBe(2)
  })

  test('concurrent readers share one build; a reader too late for a running build waits for the next one', async () => {
    const s = fakeSchedule({ buildMs: 60 })
    const maps = keptMaps({ cacheMs: 20, unchanged: s.unchanged, byteBudget: 1e6 })
    const early = [maps('k', 'sched', s.build), maps('k', 'sched', s.build)]
    await Bun.sleep(30) // the running build started more than a window ago for whoever comes now
    s.version = 1
    const arrivedAt = performance.now()
    const late = [maps('k', 'sched', s.build), maps('k', 'sched', s.build)]
    const [a, b] = await Promise.all(early)
    expect(a).toBe(b!)
    expect(await seenIn(a!)).toBe(0)
    const [c, d] = await Promise.all(late)
    expect(c).toBe(d!)
    expect(await seenIn(c!)).toBe(1) // built after they came, never the older build they arrived too late for
    expect(s.builds).toBe(2) // one at a time: the late readers' build waited for the first
    expect(s.buildStarts[1]!).toBeGreaterThanOrEqual(arrivedAt)
  })

  test('a failed build fails its readers only; the next read builds again', async () => {
    let fail = true
    const maps = keptMaps({ cacheMs: 1000, unchanged: async () => true, byteBudget: 1e6 })
    const build = async (): Promise<BuiltMap> => {
      if (fail) throw new Error('database down')
      return { answer: sharedAnswer('[]'), snapshot: '1', nextLapse: null }
    }
    await expect(maps('k', 'sched', build)).rejects.toThrow('database down')
    fail = false
    expect((await maps('k', 'sched', build)).etag).toBe(sharedAnswer('[]').etag)
  })

  test('past the byte budget the map read longest ago is dropped', async () => {
    const s = fakeSchedule()
    const maps = keptMaps({ cacheMs: 10_000, unchanged: s.unchanged, byteBudget: 250 }) // two maps of ~120 bytes
    const a = await maps('a', 'sched', s.build)
    await maps('b', 'sched', s.build)
    await maps('a', 'sched', s.build) // a is now read more recently than b
    await maps('c', 'sched', s.build) // over budget: b goes
    expect(s.builds).toBe(3)
    expect(await maps('a', 'sched', s.build)).toBe(a)
    await maps('b', 'sched', s.build)
    expect(s.builds).toBe(4)
  })
})
