import { notRefusedByPostgres, theRow } from './statements'

// Group commit: calls that arrive together share one statement or script run (one round trip, and in
// Postgres one transaction and one commit: one WAL flush). While `inFlight` batches of a key are running,
// the calls that arrive queue up, and when one returns they go as the next batch: one statement with
// arrays. A call that finds nothing of its key running goes at once, alone: nothing waits for a timer, so
// a lone call is as quick as before, and under load the batches grow by themselves to what arrived
// during one round trip. A call that finds a batch running and room for another waits for the end of
// the event loop's turn, so that the calls that arrive in the same turn leave with it: otherwise, with
// two in flight, the first call after a batch returned went alone every time, and a hold alone costs
// Postgres about three times its share of a batch of eight (test/tools/bench/HISTORY.md, stop 29).
// The waiting-room stores batch the calls of one line (the key); holds, payments and charges batch the
// calls of everyone (one key), each user once per batch and in ascending order of users
// (sql/functions/hold_seats.sql, pay_many.sql, sql/balance/charge_many.sql).

export interface GroupCommitOptions<In> {
  /** The most calls in one batch; more wait for the next one. */
  maxBatch: number
  /** Batches of one key running at once (default 1). */
  inFlight?: number
  /**
   * Calls of one user go one per batch (a statement changes a user's rows once, and a user's calls stay
   * in the order they came), and a batch goes in ascending order of users: a statement that takes rows in
   * the batch's order (the balances of charge_many and pay_many) then takes them in one order in every
   * batch, and two batches cannot deadlock. (Users' own rows are locked in the database's order, by the
   * statement itself: sql/functions/hold_seats.sql, pay_many.sql.)
   */
  userOf?: (input: In) => string
  /**
   * Whether an error fails every call of the batch (the database is unreachable, or it is unknown whether
   * the batch committed). Any other error of a batch of several is not trusted to concern all of them:
   * each call is then run again alone, so that only the calls at fault fail.
   */
  failsAll: (error: unknown) => boolean
}

interface Waiting<In, Out> {
  input: In
  resolve: (out: Out) => void
  reject: (error: unknown) => void
}

interface Key<In, Out> {
  waiting: Waiting<In, Out>[]
  running: number
  /** A batch will leave at the end of this turn of the event loop. */
  gathering: boolean
}

/** Calls of one key go in batches. `run` answers each input of a batch, in the order given. */
export function groupCommit<In, Out>(
  run: (key: string, inputs: In[]) => Promise<Out[]>,
  { maxBatch, inFlight = 1, userOf, failsAll }: GroupCommitOptions<In>,
): (key: string, input: In) => Promise<Out> {
  const keys = new Map<string, Key<In, Out>>()

  function next(state: Key<In, Out>): Waiting<In, Out>[] {
    if (!userOf) return state.waiting.splice(0, maxBatch)
    const users = new Set<string>()
    const batch: Waiting<In, Out>[] = []
    const later: Waiting<In, Out>[] = []
    for (const w of state.waiting) {
      const user = userOf(w.input)
      if (batch.length < maxBatch && !users.has(user)) {
        users.add(user)
        batch.push(w)
      } else later.push(w)
    }
    state.waiting = later
    return batch.sort((a, b) => {
      const x = userOf(a.input)
      const y = userOf(b.input)
      return x < y ? -1 : x > y ? 1 : 0
    })
  }

  async function send(key: string, state: Key<In, Out>, batch: Waiting<In, Out>[]) {
    state.running++
    try {
      const outs = await run(key, batch.map((w) => w.input))
      batch.forEach((w, i) => w.resolve(outs[i]!))
    } catch (error) {
      if (batch.length === 1 || failsAll(error)) {
        for (const w of batch) w.reject(error)
      } else {
        await Promise.all(batch.map((w) => run(key, [w.input]).then((outs) => w.resolve(outs[0]!), w.reject)))
      }
    } finally {
      state.running--
    }
    if (state.waiting.length > 0) {
      if (state.running < inFlight) void send(key, state, next(state))
    } else if (state.running === 0) keys.delete(key)
  }

  function gather(key: string, state: Key<In, Out>) {
    state.gathering = true
    setImmediate(() => {
      state.gathering = false
      if (state.running < inFlight && state.waiting.length > 0) void send(key, state, next(state))
    })
  }

  return (key, input) =>
    new Promise<Out>((resolve, reject) => {
      let state = keys.get(key)
      if (!state) keys.set(key, (state = { waiting: [], running: 0, gathering: false }))
      state.waiting.push({ input, resolve, reject })
      if (state.running === 0) void send(key, state, next(state))
      else if (state.running < inFlight && !state.gathering) gather(key, state)
    })
}

/**
 * Booking calls decided together (sql/functions/hold_seats.sql, pay_many.sql): `call` runs one batch,
 * users distinct, and answers a row per input by `n`, its 1-based place (alone, a batch of one, it waits
 * for rows other transactions hold locked). In a batch a row so locked is not waited for: its input is
 * answered `contended` and asked again alone. A batch that Postgres refused is tried call by call.
 */
export function decidedTogether<In, Row extends { n: number; contended: boolean }>(
  name: string,
  call: (batch: In[]) => Promise<Row[]>,
  userOf: (input: In) => string,
): (input: In) => Promise<Row> {
  const batched = groupCommit<In, Row | undefined>(
    async (_, batch) => {
      const rows: (Row | undefined)[] = batch.map(() => undefined)
      for (const row of await call(batch)) rows[row.n - 1] = row
      return rows
    },
    { maxBatch: 64, inFlight: 2, userOf, failsAll: notRefusedByPostgres },
  )
  return async (input) => {
    const answer = await batched('', input)
    const row = theRow(answer ? [answer] : [], name)
    return row.contended ? theRow(await call([input]), name) : row
  }
}
