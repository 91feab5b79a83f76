import type { Config } from '../../../src/config'
import { silentLog } from '../../../src/log'
import { startServer } from '../../../src/server'
import type { WaitingRoomStore } from '../../../src/waiting-room/store'
import type { User } from './api'

// Round trips to the queue store per poll and per catalogue read, counted exactly. The app is built
// in-process with startServer (the wiring of src/server.ts, without port and jobs) on the bench's database
// and store, the calls a poll and a catalogue read make are issued through its waiting room, and what
// leaves for the queue store is counted on the way out: every call of the store object (for the Redis
// stores each is one EVALSHA, plus one EVAL the first time Redis does not know a script), and for the
// Postgres store every statement on the app's connection pool (nothing else runs in-process meanwhile).
// Counting inside the live instance would need pg_stat_statements (rarely loaded) or Redis's INFO
// commandstats, which is server-wide; the latter is reported per request under load as a cross-check.

export interface RoundTrips {
  /** Store round trips of one status poll of a WAITING user. */
  perPoll: number | null
  /** Of one catalogue read by an ACTIVE user on an instance that answered that user's poll. */
  perCatalogueRead: number | null
  /** Of the first catalogue read on an instance that has not seen the user's session yet. */
  perColdCatalogueRead: number | null
  method: string
}

function countCalls(store: WaitingRoomStore, counter: { n: number }) {
  const methods = ['join', 'poll', 'check', 'extend', 'finish', 'admit', 'setSoldOut', 'lines', 'ping'] as const
  for (const name of methods) {
    const original = (store as unknown as Record<string, (...a: unknown[]) => unknown>)[name]
    if (typeof original !== 'function') continue
    ;(store as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
      counter.n++
      return original.apply(store, args)
    }
  }
}

export async function countRoundTrips(o: { config: Config; waiting: User[]; active: User[]; concertId: string }): Promise<RoundTrips> {
  const servers: Awaited<ReturnType<typeof startServer>>[] = []
  const trips = { n: 0 }
  /** A fresh instance (empty caches), its store's calls or statements counted into `trips`. */
  const instance = async () => {
    const server = await startServer(o.config, { log: silentLog, runJobs: false, listen: false })
    servers.push(server)
    if (server.store.kind === 'postgres') {
      const sql = server.sql as unknown as { unsafe: (...a: unknown[]) => unknown }
      const unsafe = sql.unsafe
      sql.unsafe = (...args: unknown[]) => {
        trips.n++
        return unsafe.apply(sql, args)
      }
    } else countCalls(server.store, trips)
    return server.room
  }
  const count = async (work: () => Promise<unknown>) => {
    const before = trips.n
    await work()
    return trips.n - before
  }
  try {
    const polling = await instance()
    const waiting = o.waiting.slice(-200)
    let polls = 0
    const pollTrips = await count(async () => {
      for (const u of waiting) if ((await polling.status(u.userId, u.queueToken)).status === 'WAITING') polls++
    })

    // An instance that answered the user's poll (ACTIVE) serves that user's catalogue reads from memory.
    const warm = await instance()
    const active: User[] = []
    for (const u of o.active) if ((await warm.status(u.userId, u.queueToken)).status === 'ACTIVE') active.push(u)
    const reads = 10
    const readTrips = await count(async () => {
      for (const u of active) for (let i = 0; i < reads; i++) await warm.requireActiveForRead(u.userId, u.queueToken, o.concertId)
    })
    const cold = await instance()
    const coldTrips = await count(async () => {
      for (const u of active) await cold.requireActiveForRead(u.userId, u.queueToken, o.concertId)
    })
    return {
      perPoll: waiting.length ? pollTrips / waiting.length : null,
      perCatalogueRead: active.length ? readTrips / (active.length * reads) : null,
      perColdCatalogueRead: active.length ? coldTrips / active.length : null,
      method:
        `${o.config.queueStore === 'postgres' ? 'statements on the Postgres pool' : 'calls of the Redis store (one EVALSHA each)'}` +
        ` of the app built in-process, over ${waiting.length} polls (${polls} WAITING) and ${active.length * reads} reads by ${active.length} ACTIVE users`,
    }
  } finally {
    for (const server of servers) await server.stop()
  }
}
