import type { Sql, Tx } from '../../src/db/client'

/**
 * A transaction on another connection that keeps the locks `lock` takes (row locks, an advisory lock,
 * or just its connection) until the function it returns is called, as a transaction still deciding
 * those rows does. Resolves once they are held. The embedded database has one connection: it cannot
 * serve this.
 */
export async function keptLocks(sql: Sql, lock: (tx: Tx) => Promise<unknown>): Promise<() => Promise<void>> {
  let end!: () => void
  const ended = new Promise<void>((resolve) => (end = resolve))
  let locked!: () => void
  const lockedNow = new Promise<void>((resolve) => (locked = resolve))
  const transaction = sql.begin(async (tx) => {
    await lock(tx)
    locked()
    await ended
  })
  await lockedNow
  return async () => {
    end()
    await transaction
  }
}

/** Whether a promise has settled, without waiting for it. */
export function watched<T>(promise: Promise<T>) {
  const state = { settled: false, promise }
  promise.then(
    () => (state.settled = true),
    () => (state.settled = true),
  )
  return state
}

/**
 * The end of this turn of the event loop: a call that found a batch of its key running and room for
 * another leaves then (src/db/group-commit.ts).
 */
export function endOfTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}
