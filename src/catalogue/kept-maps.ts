import type { SharedAnswer } from '../http/shared-answer'

// Seat maps kept while they are still true. During an on-sale everyone reads the map of the same
// schedule; a 100,000-seat map is 6 MB of JSON that takes Postgres a few hundred milliseconds to build
// and the app tens to compress. Building it again every cache window whether or not a seat changed would
// keep a core busy for nothing, so a kept map is rebuilt only when Postgres says that it changed (a cheap
// indexed read: sql/catalogue/seat_map_unchanged.sql); an unchanged map keeps its bytes, its ETag and its
// compressed forms.
//
// Freshness is exactly what CATALOGUE_CACHE_MS promises: an answer given at time t tells the state of the
// seats at t - CATALOGUE_CACHE_MS or later. A map is served without asking for CATALOGUE_CACHE_MS after
// the load (build or check) that produced or confirmed it started; a reader who comes later waits for a
// load that started no earlier than that. At most one load per map runs, and at most one more waits
// for it: a reader who is too late for the running load joins the waiting one, which starts when the
// running one ends, so a map that changes all the time is still built one at a time.

/** A built map and what tells later whether it is still good. */
export interface BuiltMap {
  answer: SharedAnswer
  /** The snapshot the build read in, as pg_current_snapshot() prints it. */
  snapshot: string
  /** When the first hold the map shows as HELD lapses (Postgres time, as text), or null. */
  nextLapse: string | null
}

export type Unchanged = (scheduleId: string, map: BuiltMap) => Promise<boolean>

interface Kept {
  scheduleId: string
  map: BuiltMap | null
  /** When the load that built or last confirmed `map` started. */
  asOf: number
  lastRead: number
  running: { since: number; done: Promise<BuiltMap> } | null
  waiting: Promise<BuiltMap> | null
}

/**
 * Kept maps by key (a schedule and a form of its map), at most `byteBudget` bytes of JSON in all: past
 * it, the maps read longest ago are dropped (and built again if read again).
 */
export function keptMaps({ cacheMs, unchanged, byteBudget }: { cacheMs: number; unchanged: Unchanged; byteBudget: number }) {
  const kept = new Map<string, Kept>()
  let bytes = 0

  function keep(key: string, k: Kept, map: BuiltMap, since: number) {
    // A slower load that started earlier does not replace a newer answer; a dropped map stays dropped.
    if (since < k.asOf || kept.get(key) !== k) return
    bytes += map.answer.size - (k.map?.answer.size ?? 0)
    k.map = map
    k.asOf = since
    while (bytes > byteBudget) {
      let oldest: [string, Kept] | null = null
      for (const entry of kept) if (entry[1] !== k && (!oldest || entry[1].lastRead < oldest[1].lastRead)) oldest = entry
      if (!oldest) break
      kept.delete(oldest[0])
      bytes -= oldest[1].map?.answer.size ?? 0
    }
  }

  function load(key: string, k: Kept, build: () => Promise<BuiltMap>): Promise<BuiltMap> {
    const since = performance.now()
    const previous = k.map
    const done = (async () => {
      if (previous && (await unchanged(k.scheduleId, previous))) return previous
      const next = await build()
      // Rows rewritten with the same content (the lapse job tidying lapsed holds) give the same bytes:
      // the answer and its compressed forms stay, with the new snapshot.
      return previous && previous.answer.etag === next.answer.etag ? { ...next, answer: previous.answer } : next
    })()
    k.running = { since, done }
    const settled = () => {
      if (k.running?.done === done) k.running = null
    }
    done.then((map) => {
      keep(key, k, map, since)
      settled()
    }, settled)
    return done
  }

  return (key: string, scheduleId: string, build: () => Promise<BuiltMap>): Promise<SharedAnswer> => {
    const now = performance.now()
    let k = kept.get(key)
    if (!k) kept.set(key, (k = { scheduleId, map: null, asOf: -Infinity, lastRead: now, running: null, waiting: null }))
    k.lastRead = now
    if (k.map && now < k.asOf + cacheMs) return Promise.resolve(k.map.answer)
    if (k.running && now < k.running.since + cacheMs) return k.running.done.then((m) => m.answer)
    if (!k.running) return load(key, k, build).then((m) => m.answer)
    const entry = k
    k.waiting ??= k.running.done
      .catch(() => {})
      .then(() => {
        entry.waiting = null
        return load(key, entry, build)
      })
    return k.waiting.then((m) => m.answer)
  }
}
