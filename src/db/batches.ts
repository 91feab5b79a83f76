// Requests that share one statement (one round trip, one commit: one WAL flush) under load. While
// `inFlight` statements are running, requests that arrive wait and leave together as the next one (at
// most `limit`, each user once: a statement changes a user's row once, and a user's requests stay in
// the order they came). A request that finds room leaves at once, so a lone request is never delayed.
// A batch leaves in ascending user order: every batch then takes users' row locks in one order, and two
// batches cannot deadlock (sql/balance/charge_many.sql, sql/functions/hold_seats.sql).

export interface BatchRules<In, Out> {
  inFlight: number
  limit: number
  /**
   * Runs one batch (users distinct, ascending): an answer per request, in the batch's order. If it
   * throws, every request of the batch fails with that error, unless `alone` says it was refused as a
   * whole by Postgres (nothing of it committed): each request is then run again as a batch of its own,
   * so that an error stays with the request it concerns.
   */
  run(batch: In[]): Promise<Out[]>
  userOf(request: In): string
}

interface Pending<In, Out> {
  request: In
  resolve: (out: Out) => void
  reject: (error: unknown) => void
}

export function batches<In, Out>(rules: BatchRules<In, Out>) {
  const waiting: Pending<In, Out>[] = []
  let inFlight = 0

  function next(): Pending<In, Out>[] {
    const users = new Set<string>()
    const batch: Pending<In, Out>[] = []
    const later: Pending<In, Out>[] = []
    for (const p of waiting) {
      const user = rules.userOf(p.request)
      if (batch.length < rules.limit && !users.has(user)) {
        users.add(user)
        batch.push(p)
      } else later.push(p)
    }
    waiting.length = 0
    waiting.push(...later)
    return batch.sort((a, b) => {
      const x = rules.userOf(a.request)
      const y = rules.userOf(b.request)
      return x < y ? -1 : x > y ? 1 : 0
    })
  }

  async function run(batch: Pending<In, Out>[]) {
    inFlight++
    try {
      const answers = await rules.run(batch.map((p) => p.request))
      batch.forEach((p, i) => p.resolve(answers[i]!))
    } catch (error) {
      // Postgres refused the statement, so none of it committed: each request is tried alone, and an
      // error stays with the request it concerns. Any other failure (the connection broke) leaves it
      // unknown whether the batch committed; every request of it fails, as a single one would.
      if (batch.length > 1 && isRefusedByPostgres(error)) for (const p of batch) void run([p])
      else for (const p of batch) p.reject(error)
    } finally {
      inFlight--
      if (waiting.length > 0 && inFlight < rules.inFlight) void run(next())
    }
  }

  return {
    /** Runs the request in the next batch that can take it. */
    submit(request: In): Promise<Out> {
      return new Promise<Out>((resolve, reject) => {
        waiting.push({ request, resolve, reject })
        if (inFlight < rules.inFlight) void run(next())
      })
    },
  }
}

function isRefusedByPostgres(error: unknown): boolean {
  return (error as { name?: unknown })?.name === 'PostgresError'
}
