import { describe, expect, test } from 'bun:test'
import { keptMaps, type ReadSeats } from '../../src/catalogue/kept-maps'
import { SeatStates } from '../../src/catalogue/seat-states'
import { sharedAnswer, type SharedAnswer } from '../../src/http/shared-answer'

// A schedule's seats are read whole once, then only their changes, at most once per cache window; each
// form of the map is drawn from them when first read after a change.

const bytes = (s: string) => new TextEncoder().encode(s)

/** A schedule whose "database" the test changes by hand (statuses: a character per seat), with counts of reads. */
function fakeSchedule(options: { readMs?: number; statuses?: string } = {}) {
  const s = {
    statuses: options.statuses ?? 'AAAA',
    /** Seats written since each snapshot handed out (the snapshot is the index of the entry). */
    writes: [] as number[][],
    wholeReads: 0,
    changeReads: 0,
    readStarts: [] as number[],
    set(seat: number, status: string) {
      s.statuses = s.statuses.slice(0, seat - 1) + status + s.statuses.slice(seat)
      for (const since of s.writes) since.push(seat)
    },
    read: (async (_scheduleId, kept) => {
      s.readStarts.push(performance.now())
      const statuses = s.statuses
      const snapshot = String(s.writes.push([]) - 1)
      if (options.readMs) await Bun.sleep(options.readMs)
      if (!kept) {
        s.wholeReads++
        return SeatStates.read([bytes(statuses), bytes(`[[1,${statuses.length},1000]]`), bytes('[]'), bytes(snapshot), bytes('0')])
      }
      s.changeReads++
      // A hold's expiry far ahead of the read's time (0): HELD shows as HELD.
      const changes = s.writes[Number(kept.snapshot)]!.map((seat) => [seat, statuses[seat - 1], 1000, statuses[seat - 1] === 'H' ? 1e15 : null])
      kept.apply([bytes(JSON.stringify(changes)), bytes(snapshot), bytes('0')])
      return kept
    }) as ReadSeats,
  }
  return s
}

const statusesIn = async (answer: SharedAnswer) => JSON.parse(await answer.plain.text()).map((seat: { status: string }) => seat.status[0]).join('')

describe('kept seat maps', () => {
  test('within the window a map is served as is; after it, only the changes are read, and an unchanged map keeps its answer', async () => {
    const s = fakeSchedule()
    const maps = keptMaps({ cacheMs: 200, read: s.read, byteBudget: 1e6 })
    const first = await maps('sched', 'all')
    expect(maps('sched', 'all')).toBe(first) // no wait at all within the window
    expect([s.wholeReads, s.changeReads]).toEqual([1, 0])
    await Bun.sleep(250)
    expect(await maps('sched', 'all')).toBe(first) // the same bytes and compressed forms
    expect([s.wholeReads, s.changeReads]).toEqual([1, 1])
  })

  test('a change is read once it is seen, within the window, in every form', async () => {
    const s = fakeSchedule()
    const maps = keptMaps({ cacheMs: 40, read: s.read, byteBudget: 1e6 })
    await maps('sched', 'all')
    s.set(2, 'H')
    s.set(4, 'S')
    await Bun.sleep(60)
    expect(await statusesIn(await maps('sched', 'all'))).toBe('AHAS')
    expect(JSON.parse(await (await maps('sched', 'available')).plain.text()).map((seat: { number: number }) => seat.number)).toEqual([1, 3])
    expect(JSON.parse(await (await maps('sched', 'compact')).plain.text()).status).toBe('AHAS')
    expect([s.wholeReads, s.changeReads]).toEqual([1, 1])
  })

  test('with no window every read asks, and a change shows at once', async () => {
    const s = fakeSchedule()
    const maps = keptMaps({ cacheMs: 0, read: s.read, byteBudget: 1e6 })
    const first = await maps('sched', 'all')
    expect(await maps('sched', 'all')).toBe(first)
    s.set(1, 'S')
    expect(await statusesIn(await maps('sched', 'all'))).toBe('SAAA')
    expect([s.wholeReads, s.changeReads]).toEqual([1, 2])
  })

  test('a seat rewritten with what the map showed keeps the earlier answer (and its compressed forms)', async () => {
    const s = fakeSchedule()
    const maps = keptMaps({ cacheMs: 0, read: s.read, byteBudget: 1e6 })
    const first = await maps('sched', 'all')
    s.set(3, 'A')
    expect(await maps('sched', 'all')).toBe(first)
    expect(s.changeReads).toBe(1)
  })

  test('a big map no longer held is drawn again as it was, with its ETag, after the seats have moved on', async () => {
    const s = fakeSchedule({ statuses: 'A'.repeat(10_000) }) // ~470 KB as JSON: big enough not to be held once compressed
    const maps = keptMaps({ cacheMs: 0, read: s.read, byteBudget: 1e8 })
    const before = await maps('sched', 'all')
    await before.encoded('br')
    expect(before.kept).toBeLessThan(before.size / 10) // only the compressed form
    s.set(1, 'S')
    const after = await maps('sched', 'all')
    expect(await statusesIn(after)).toStartWith('SA')
    const redrawn = await before.plain.bytes()
    expect(sharedAnswer(redrawn).etag).toBe(before.etag)
    expect(JSON.parse(new TextDecoder().decode(redrawn))[0].status).toBe('AVAILABLE')
  })

  test('concurrent readers share one read; a reader too late for a running read waits for the next one', async () => {
    const s = fakeSchedule({ readMs: 60 })
    const maps = keptMaps({ cacheMs: 20, read: s.read, byteBudget: 1e6 })
    const early = [maps('sched', 'all'), maps('sched', 'all')]
    await Bun.sleep(30) // the running read started more than a window ago for whoever comes now
    s.set(1, 'H')
    const arrivedAt = performance.now()
    const late = [maps('sched', 'all'), maps('sched', 'all')]
    const [a, b] = await Promise.all(early)
    expect(a).toBe(b!)
    const [c, d] = await Promise.all(late)
    expect(c).toBe(d!)
    expect(await statusesIn(c!)).toBe('HAAA') // read after they came, never the older read they arrived too late for
    expect(s.readStarts.length).toBe(2) // one at a time: the late readers' read waited for the first
    expect(s.readStarts[1]!).toBeGreaterThanOrEqual(arrivedAt)
  })

  test('a failed read fails its readers only; the next read tries again', async () => {
    const s = fakeSchedule()
    let fail = true
    const read: ReadSeats = async (id, kept) => {
      if (fail) throw new Error('database down')
      return s.read(id, kept)
    }
    const maps = keptMaps({ cacheMs: 1000, read, byteBudget: 1e6 })
    await expect(maps('sched', 'all')).rejects.toThrow('database down')
    fail = false
    expect(await statusesIn(await maps('sched', 'all'))).toBe('AAAA')
  })

  test('past the byte budget the schedule read longest ago is dropped, and read whole again when read again', async () => {
    const [a, b, c] = [fakeSchedule({ statuses: 'A'.repeat(10) }), fakeSchedule({ statuses: 'A'.repeat(10) }), fakeSchedule({ statuses: 'A'.repeat(10) })]
    const read: ReadSeats = (id, kept) => ({ a, b, c })[id as 'a' | 'b' | 'c'].read(id, kept)
    // A 10-seat schedule keeps ~1,060 bytes (170 of seats, 10 of picture, its map as a Blob and as bytes to compress): two fit, three do not.
    const maps = keptMaps({ cacheMs: 10_000, read, byteBudget: 2500 })
    const first = await maps('a', 'all')
    await maps('b', 'all')
    await maps('a', 'all') // a is now read more recently than b
    await maps('c', 'all') // over budget: b goes
    expect(await maps('a', 'all')).toBe(first)
    await maps('b', 'all')
    expect([a.wholeReads, b.wholeReads, c.wholeReads]).toEqual([1, 2, 1])
  })
})
