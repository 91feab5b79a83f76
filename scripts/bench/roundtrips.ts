import { catalogue } from '../../src/catalogue/catalogue'
import type { Config } from '../../src/config'
import type { Sql } from '../../src/db/client'
import { deriveQueueTokenSecret, queueTokens } from '../../src/waiting-room/queue-token'
import type { WaitingRoomStore } from '../../src/waiting-room/store'
import { openStore } from '../../src/waiting-room/stores'
import { waitingRoom } from '../../src/waiting-room/waiting-room'
import type { User } from './api'
import type { StoreRuntime } from './stores'

// Round trips to the queue store per poll and per catalogue read, counted exactly: the app's own
// waiting-room code (src/waiting-room/waiting-room.ts) runs here in-process on a store opened with the
// app's configuration, and every call that leaves for the store is counted on the way out: statements
// on the store's Postgres connection, EVALSHA/EVAL calls on the Redis server (INFO commandstats, read at
// a quiet moment). pg_stat_statements would count inside the live instance, but it is rarely loaded.

export interface RoundTrips {
  /** Store round trips of one status poll of a WAITING user. */
  perPoll: number | null
  /** Of one catalogue read by an ACTIVE user on an instance that answered that user's poll. */
  perCatalogueRead: number | null
  /** Of the first catalogue read on an instance that has not seen the user's session yet. */
  perColdCatalogueRead: number | null
  method: string
}

/** A Sql handle that counts the statements sent through it (the Postgres store issues only unsafe()). */
function countingSql(sql: Sql, counter: { n: number }): Sql {
  return new Proxy(sql, {
    apply(target, thisArg, args) {
      counter.n++
      return Reflect.apply(target as unknown as (...a: unknown[]) => unknown, thisArg, args)
    },
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver)
      if (property === 'unsafe' || property === 'begin') {
        return (...args: unknown[]) => {
          counter.n++
          return (value as (...a: unknown[]) => unknown).apply(target, args)
        }
      }
      return typeof value === 'function' ? value.bind(target) : value
    },
  }) as Sql
}

export async function countRoundTrips(o: {
  config: Config
  sql: Sql
  runtime: StoreRuntime
  authSecret: string
  waiting: User[]
  active: User[]
  concertId: string
}): Promise<RoundTrips> {
  const statements = { n: 0 }
  const store: WaitingRoomStore = await openStore(o.config, o.runtime.kind === 'postgres' ? countingSql(o.sql, statements) : o.sql)
  const count = async (work: () => Promise<unknown>) => {
    const before = o.runtime.scriptCalls ? await o.runtime.scriptCalls() : statements.n
    await work()
    const after = o.runtime.scriptCalls ? await o.runtime.scriptCalls() : statements.n
    return after - before
  }
  const room = () =>
    waitingRoom({
      store,
      tokens: queueTokens(o.config.queueTokenSecret ?? deriveQueueTokenSecret(o.authSecret)),
      catalogue: catalogue(o.sql),
      limits: o.config.queue,
    })
  try {
    const polling = room()
    const waiting = o.waiting.slice(-200)
    let polls = 0
    const pollTrips = await count(async () => {
      for (const u of waiting) {
        const status = await polling.status(u.userId, u.queueToken)
        if (status.status === 'WAITING') polls++
      }
    })

    // An instance that answered the user's poll (ACTIVE) serves that user's catalogue reads from memory.
    const warm = room()
    const active: User[] = []
    for (const u of o.active) {
      if ((await warm.status(u.userId, u.queueToken)).status === 'ACTIVE') active.push(u)
    }
    const reads = 10
    const readTrips = await count(async () => {
      for (const u of active) for (let i = 0; i < reads; i++) await warm.requireActiveForRead(u.userId, u.queueToken, o.concertId)
    })
    const cold = room()
    const coldTrips = await count(async () => {
      for (const u of active) await cold.requireActiveForRead(u.userId, u.queueToken, o.concertId)
    })
    return {
      perPoll: waiting.length ? pollTrips / waiting.length : null,
      perCatalogueRead: active.length ? readTrips / (active.length * reads) : null,
      perColdCatalogueRead: active.length ? coldTrips / active.length : null,
      method:
        o.runtime.kind === 'postgres'
          ? `statements on the store's connection, counted in-process over ${waiting.length} polls (${polls} WAITING) and ${active.length * reads} reads`
          : `EVALSHA/EVAL calls (INFO commandstats delta) over ${waiting.length} polls (${polls} WAITING) and ${active.length * reads} reads, in-process`,
    }
  } finally {
    if (o.runtime.kind !== 'postgres') await store.close()
  }
}
