import { sharedAnswer, type SharedAnswer } from '../http/shared-answer'
import { compactMap, fullMap, type SeatPicture, type SeatStates } from './seat-states'

// Seat maps kept while they are still true. During an on-sale everyone reads the maps of the same
// schedules, which change every moment. Each schedule's seats are kept in memory (SeatStates) and brought
// up to date by reading only the seats written since (a short indexed read); each form of its map (all
// seats, the available ones, the compact one) is drawn from them when first read after a change, and an
// unchanged form keeps its bytes, its ETag and its compressed forms.
//
// Freshness is exactly what CATALOGUE_CACHE_MS promises: an answer given at time t tells the state of the
// seats at t - CATALOGUE_CACHE_MS or later. A schedule is served without asking for CATALOGUE_CACHE_MS
// after the read that brought it up to date started; a reader who comes later waits for a read that
// started no earlier than that. At most one read per schedule runs, and at most one more waits for it: a
// reader who is too late for the running read joins the waiting one, which starts when the running one
// ends.

export type MapForm = 'all' | 'available' | 'compact'

/** Brings a schedule's seats up to date: reads them whole when `kept` is null, else applies the changes to it. */
export type ReadSeats = (scheduleId: string, kept: SeatStates | null) => Promise<SeatStates>

interface Kept {
  states: SeatStates | null
  /** When the read that brought `states` up to date started. */
  asOf: number
  lastRead: number
  running: { since: number; done: Promise<SeatStates> } | null
  waiting: Promise<SeatStates> | null
  /** What the maps show at a version of the seats, taken when a form is first drawn at that version. */
  picture: { version: number; picture: SeatPicture } | null
  drawn: Partial<Record<MapForm, { version: number; answer: SharedAnswer }>>
  /** Bytes counted for it in the budget. */
  bytes: number
}

const draw = (picture: SeatPicture, form: MapForm) => (form === 'compact' ? compactMap(picture) : fullMap(picture, form === 'available'))

/**
 * The maps of the schedules read, at most `byteBudget` bytes in all (seats kept and maps drawn): past it,
 * the schedules read longest ago are dropped (and read whole again if read again).
 */
export function keptMaps({ cacheMs, read, byteBudget }: { cacheMs: number; read: ReadSeats; byteBudget: number }) {
  const kept = new Map<string, Kept>()
  let bytes = 0

  /**
   * Counts what `current` keeps now, then drops the schedules read longest ago while over the budget. A
   * form's compressed bytes are counted at the schedule's next read or drawing after they are made.
   */
  function keepWithinBudget(current: Kept) {
    const size =
      (current.states?.size ?? 0) + (current.picture?.picture.shown.byteLength ?? 0) + Object.values(current.drawn).reduce((n, d) => n + d.answer.kept, 0)
    bytes += size - current.bytes
    current.bytes = size
    while (bytes > byteBudget) {
      let oldest: [string, Kept] | null = null
      for (const entry of kept) if (entry[1] !== current && (!oldest || entry[1].lastRead < oldest[1].lastRead)) oldest = entry
      if (!oldest) break
      kept.delete(oldest[0])
      bytes -= oldest[1].bytes
    }
  }

  function load(scheduleId: string, k: Kept): Promise<SeatStates> {
    const since = performance.now()
    const done = read(scheduleId, k.states)
    k.running = { since, done }
    const settled = () => {
      if (k.running?.done === done) k.running = null
    }
    done.then((states) => {
      // A dropped schedule stays dropped. (Reads of a schedule run one at a time, so none is older than the last.)
      if (kept.get(scheduleId) === k) {
        k.states = states
        k.asOf = since
        keepWithinBudget(k)
      }
      settled()
    }, settled)
    return done
  }

  function upToDate(scheduleId: string, k: Kept, now: number): SeatStates | Promise<SeatStates> {
    if (k.states && now < k.asOf + cacheMs) return k.states
    if (k.running && now < k.running.since + cacheMs) return k.running.done
    if (!k.running) return load(scheduleId, k)
    k.waiting ??= k.running.done
      .catch(() => {})
      .then(() => {
        k.waiting = null
        return load(scheduleId, k)
      })
    return k.waiting
  }

  function answer(scheduleId: string, k: Kept, states: SeatStates, form: MapForm): SharedAnswer {
    const drawn = k.drawn[form]
    if (drawn?.version === states.version) return drawn.answer
    if (k.picture?.version !== states.version) k.picture = { version: states.version, picture: states.picture() }
    const { version, picture } = k.picture
    let next = sharedAnswer(draw(picture, form), { redraw: () => draw(picture, form) })
    // Rows rewritten with what the map already showed (the lapse job tidying lapsed holds) draw the same
    // bytes: the answer and its compressed forms stay.
    if (drawn && drawn.answer.etag === next.etag) next = drawn.answer
    k.drawn[form] = { version, answer: next }
    if (kept.get(scheduleId) === k) keepWithinBudget(k)
    return next
  }

  return (scheduleId: string, form: MapForm): SharedAnswer | Promise<SharedAnswer> => {
    const now = performance.now()
    let k = kept.get(scheduleId)
    if (!k) kept.set(scheduleId, (k = { states: null, asOf: -Infinity, lastRead: now, running: null, waiting: null, picture: null, drawn: {}, bytes: 0 }))
    k.lastRead = now
    const states = upToDate(scheduleId, k, now)
    return states instanceof Promise ? states.then((s) => answer(scheduleId, k, s, form)) : answer(scheduleId, k, states, form)
  }
}
