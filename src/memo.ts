// A bounded memo of answers computed per key (a token verified, a place opened) that stays useful when more
// keys are in use than it can hold. Cleared when full, as these memos were, it held nothing at all once
// the keys in use passed its bound: in a sale every waiting user polls in turn, so with 60,000 users
// polling one instance through a memo of 50,000, each poll found its token gone (cleared since its last
// poll) and verified it again: 55-65 us of CPU a poll against 22-25 with the tokens remembered, in-process
// (over HTTP the difference was within the noise of the box it was measured on; test/tools/bench/HISTORY.md,
// stop 36).
//
// Here a full memo takes no new key until a sweep has made room, and a sweep (at most once per `sweepMs`)
// forgets the keys not asked for since the sweep before: the keys in use stay, those of users who left
// go, and with more keys in use than the bound a fixed set of them is remembered (50,000 of 60,000
// polls then found theirs) instead of none.

export interface Memo<V> {
  get(key: string): V | undefined
  /** Remembers `value` for `key` if there is room, or room can be made by a sweep now. */
  set(key: string, value: V): void
  readonly size: number
}

interface Entry<V> {
  value: V
  /** Asked for since the last sweep. */
  used: boolean
}

export function boundedMemo<V>(limit: number, sweepMs = 10_000, now: () => number = performance.now.bind(performance)): Memo<V> {
  const entries = new Map<string, Entry<V>>()
  let sweptAt = -Infinity

  function sweep() {
    sweptAt = now()
    for (const [key, entry] of entries) {
      if (entry.used) entry.used = false
      else entries.delete(key)
    }
  }

  return {
    get(key) {
      const entry = entries.get(key)
      if (entry === undefined) return undefined
      entry.used = true
      return entry.value
    },
    set(key, value) {
      const entry = entries.get(key)
      if (entry !== undefined) {
        entry.value = value
        entry.used = true
        return
      }
      if (entries.size >= limit) {
        if (now() - sweptAt < sweepMs) return
        sweep()
        if (entries.size >= limit) return
      }
      entries.set(key, { value, used: true })
    },
    get size() {
      return entries.size
    },
  }
}
