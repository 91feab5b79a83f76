// Group commit for the waiting-room stores. In the Postgres store each join of its own was a transaction
// of its own, and the commits, not the statements, bounded the store (a few thousand per second on a busy
// box); in Redis each call is a script run and a round trip. Instead, calls of one line go together: while a batch of that line is in flight, the calls that arrive
// queue up, and when it returns they go as the next batch, one statement with arrays: one transaction
// and one commit for all of them. A call that finds no batch in flight goes at once, alone: nothing
// waits for a timer, so a lone call is as quick as before, and under load the batches grow by themselves
// to what arrived during one round trip.

export interface GroupCommitOptions {
  /** The most calls in one batch; more wait for the next one. */
  maxBatch: number
  /**
   * Whether an error fails every call of the batch (the database is unreachable). Any other error of a
   * batch of several is not trusted to concern all of them: each call is then run again alone, so that
   * only the calls at fault fail.
   */
  failsAll: (error: unknown) => boolean
}

interface Waiting<In, Out> {
  input: In
  resolve: (out: Out) => void
  reject: (error: unknown) => void
}

/**
 * Calls of one key (a line, and what else its statement needs to be the same) go in batches, one batch
 * in flight per key. `run` answers each input of a batch, in the order given.
 */
export function groupCommit<In, Out>(
  run: (key: string, inputs: In[]) => Promise<Out[]>,
  { maxBatch, failsAll }: GroupCommitOptions,
): (key: string, input: In) => Promise<Out> {
  // Keys with a batch in flight, and the calls waiting for it to return.
  const queued = new Map<string, Waiting<In, Out>[]>()

  async function send(key: string, batch: Waiting<In, Out>[]) {
    try {
      const outs = await run(key, batch.map((w) => w.input))
      batch.forEach((w, i) => w.resolve(outs[i]!))
    } catch (error) {
      if (batch.length === 1 || failsAll(error)) {
        for (const w of batch) w.reject(error)
      } else {
        await Promise.all(batch.map((w) => run(key, [w.input]).then((outs) => w.resolve(outs[0]!), w.reject)))
      }
    }
    const waiting = queued.get(key)!
    if (waiting.length === 0) {
      queued.delete(key)
      return
    }
    void send(key, waiting.splice(0, maxBatch))
  }

  return (key, input) =>
    new Promise<Out>((resolve, reject) => {
      const waiting = queued.get(key)
      if (waiting) {
        waiting.push({ input, resolve, reject })
        return
      }
      queued.set(key, [])
      void send(key, [{ input, resolve, reject }])
    })
}
