// Calls of one line that arrive in the same turn of the event loop go to the store together, as one
// call: one script (one round trip, one run of the per-call work such as reading the clock, sweeping
// idle places and computing the pace) for every poll or join a busy line receives at once. A lone call
// waits only for the end of the current turn (setImmediate), which is microseconds.
//
// Each caller gets its own answer; a failed store call fails the callers of that batch and no others.

/** `send` answers the items of one batch in their order; `key` names the batch (a line, and whatever else must match). */
export function lineBatch<I, O>(send: (key: string, items: I[]) => Promise<O[]>, maxItems = 500) {
  interface Batch {
    items: I[]
    waiters: { resolve: (value: O) => void; reject: (error: unknown) => void }[]
  }
  let pending = new Map<string, Batch>()
  let scheduled = false

  function dispatch(key: string, batch: Batch) {
    let sent: Promise<O[]>
    try {
      sent = send(key, batch.items)
    } catch (error) {
      sent = Promise.reject(error)
    }
    sent.then(
      (answers) => {
        if (answers.length !== batch.items.length) {
          const error = new Error(`a batch of ${batch.items.length} got ${answers.length} answers`)
          for (const w of batch.waiters) w.reject(error)
          return
        }
        batch.waiters.forEach((w, i) => w.resolve(answers[i]!))
      },
      (error) => {
        for (const w of batch.waiters) w.reject(error)
      },
    )
  }

  function flush() {
    scheduled = false
    const batches = pending
    pending = new Map()
    for (const [key, batch] of batches) dispatch(key, batch)
  }

  return (key: string, item: I): Promise<O> =>
    new Promise<O>((resolve, reject) => {
      let batch = pending.get(key)
      if (!batch) pending.set(key, (batch = { items: [], waiters: [] }))
      batch.items.push(item)
      batch.waiters.push({ resolve, reject })
      if (batch.items.length >= maxItems) {
        pending.delete(key)
        dispatch(key, batch)
        return
      }
      if (!scheduled) {
        scheduled = true
        setImmediate(flush)
      }
    })
}
