import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import { compactMap, fullMap, SeatStates } from '../../src/catalogue/seat-states'

// The maps drawn in the app say exactly what Postgres's JSON said (sql/catalogue: the seats' status with a
// lapsed hold shown AVAILABLE, in seat order), for any statuses, prices, expiries and changes.

const bytes = (s: string) => new TextEncoder().encode(s)
type Seat = { status: 'A' | 'H' | 'S'; price: number; expiresUs: number | null }

/** A row of seat_states.sql for these seats, read at `nowUs`. */
function statesRow(seats: Seat[], nowUs: number, snapshot = '1:1:') {
  const runs: [number, number, number][] = []
  seats.forEach((s, i) => {
    const last = runs[runs.length - 1]
    if (last && last[2] === s.price) last[1] = i + 1
    else runs.push([i + 1, i + 1, s.price])
  })
  const holds = seats.flatMap((s, i) => (s.status === 'H' ? [[i + 1, s.expiresUs!]] : []))
  return [bytes(seats.map((s) => s.status).join('')), bytes(JSON.stringify(runs)), bytes(JSON.stringify(holds)), bytes(snapshot), bytes(String(nowUs))]
}

/** What the maps must say, written the plain way. */
function expected(seats: Seat[], nowUs: number) {
  const shown = seats.map((s) => (s.status === 'H' && s.expiresUs! <= nowUs ? 'A' : s.status))
  const words = { A: 'AVAILABLE', H: 'HELD', S: 'SOLD' }
  const all = seats.map((s, i) => ({ number: i + 1, price: s.price, status: words[shown[i]!] }))
  const prices: { from: number; to: number; price: number }[] = []
  seats.forEach((s, i) => {
    const last = prices[prices.length - 1]
    if (last && last.price === s.price) last.to = i + 1
    else prices.push({ from: i + 1, to: i + 1, price: s.price })
  })
  return {
    all: JSON.stringify(all),
    available: JSON.stringify(all.filter((s) => s.status === 'AVAILABLE')),
    compact: JSON.stringify({ seats: seats.length, status: shown.join(''), prices }),
  }
}

const drawn = (states: SeatStates) => {
  const picture = states.picture()
  return {
    all: new TextDecoder().decode(fullMap(picture, false)),
    available: new TextDecoder().decode(fullMap(picture, true)),
    compact: new TextDecoder().decode(compactMap(picture)),
  }
}

const NOW = 1_800_000_000_000_000
const seat = fc.record({
  status: fc.constantFrom('A' as const, 'H' as const, 'S' as const),
  price: fc.oneof(fc.constantFrom(1, 1000, 150_000), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER })),
  // Around the read's time, the exact microsecond of lapse included.
  expiresUs: fc.integer({ min: NOW - 3, max: NOW + 3 }),
})
const asStored = (s: { status: 'A' | 'H' | 'S'; price: number; expiresUs: number }): Seat => ({ ...s, expiresUs: s.status === 'H' ? s.expiresUs : null })

describe('seat states', () => {
  test('draw every form as Postgres wrote it, for any seats read whole, then for any changes and any later time', () => {
    fc.assert(
      fc.property(
        fc.array(seat, { minLength: 1, maxLength: 60 }),
        fc.array(fc.tuple(fc.nat(), seat)),
        fc.integer({ min: 0, max: 4 }),
        (seats, changes, later) => {
          let now = NOW
          let stored = seats.map(asStored)
          const states = SeatStates.read(statesRow(stored, now))
          expect(drawn(states)).toEqual(expected(stored, now))

          const before = { version: states.version, maps: expected(stored, now) }
          const changed = changes.map(([n, s]) => [(n % stored.length) + 1, asStored(s)] as const)
          stored = stored.map((s, i) => changed.findLast(([n]) => n === i + 1)?.[1] ?? s)
          const row = changed.map(([n, s]) => [n, s.status, s.price, s.expiresUs])
          now += later
          states.apply([bytes(JSON.stringify(row)), bytes('2:2:'), bytes(String(now))])
          expect(drawn(states)).toEqual(expected(stored, now))
          expect(states.snapshot).toBe('2:2:')
          // A map drawn before is kept while the version stays: the version must move whenever a map changed.
          if (states.version === before.version) expect(expected(stored, now)).toEqual(before.maps)
        },
      ),
      { numRuns: 300 },
    )
  })

  test('a hold lapses by time alone: the version moves when its expiry passes, not before', () => {
    const states = SeatStates.read(statesRow([{ status: 'H', price: 10, expiresUs: NOW + 10 }, { status: 'A', price: 10, expiresUs: null }], NOW))
    const none = (now: number) => [bytes('[]'), bytes('1:1:'), bytes(String(now))]
    const v = states.version
    states.apply(none(NOW + 9))
    expect(states.version).toBe(v)
    expect(JSON.parse(new TextDecoder().decode(compactMap(states.picture()))).status).toBe('HA')
    states.apply(none(NOW + 10))
    const lapsed = states.version
    expect(lapsed).not.toBe(v)
    expect(JSON.parse(new TextDecoder().decode(compactMap(states.picture()))).status).toBe('AA')
    states.apply(none(NOW + 20))
    expect(states.version).toBe(lapsed)
  })

  test('a 100,000-seat map is drawn in well under the time Postgres took to build it (~250 ms)', () => {
    const seats: Seat[] = Array.from({ length: 100_000 }, (_, i) => ({ status: i % 7 ? 'A' : 'H', price: 150_000, expiresUs: NOW + i }))
    const states = SeatStates.read(statesRow(seats, NOW))
    fullMap(states.picture(), false) // compiled
    const started = performance.now()
    const map = fullMap(states.picture(), false)
    const took = performance.now() - started
    expect(map.byteLength).toBeGreaterThan(4_500_000)
    expect(took).toBeLessThan(100)
  })
})
