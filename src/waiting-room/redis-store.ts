import { randomBytes } from 'node:crypto'
import { ServiceError, unavailable as isUnavailable } from '../errors'
import { groupCommit } from '../db/group-commit'
import { keySlot } from './redis/slots'
import { lineKeys, perSlotRegistry, scripts, singleRegistry, type LineRegistry, type Script } from './redis/scripts'
import { isNoScript, RedisReplyError, RedisUnavailableError, withDeadline, type RedisTransport } from './redis/transport'
import type { SessionStatus } from './model'
import type { AdmitResult, JoinResult, LineLimits, LinePace, LineStats, SessionView, Ticket, WaitingRoomStore } from './store'

// The waiting room in Redis: one Lua script per operation (src/waiting-room/redis/*.lua, layout in
// src/waiting-room/redis/README.md), over whichever transport the configuration names. Every call
// settles within `timeoutMs` (two transport calls at most: EVALSHA, then EVAL if the script is not
// cached) and a Redis that is down or slow becomes a 503 Problem, never a hang or a raw error.
// After Redis failed to answer, calls fail at once for a moment instead of each waiting out its own
// timeout, so a hung Redis does not pile up requests; the first call after that moment tries again.
const PAUSE_AFTER_FAILURE_MS = 250

export interface RedisStoreOptions {
  /** Key prefix: a line's keys are `<prefix>:{<concertId>}:...`, the registry `<prefix>:lines[:{<slot tag>}]`. */
  prefix?: string
  /** One registry set, or one per slot (the default on a Redis Cluster, where nothing may be global). */
  registry?: 'single' | 'per-slot'
  /** The whole operation, fallback included; keep it under 2 s. */
  timeoutMs?: number
}

type Reply = (string | number | null)[]

// Scripts answer -1 for "no position" / "no activeUntil" and '' for "no pace" (Lua tables cannot hold nil).
const orNull = (value: unknown): number | null => (value === null || value === undefined || Number(value) < 0 ? null : Number(value))

// The pace is 'active:ended per second:live on average' (lib.lua's pace()).
function paceOf(pace: unknown): LinePace | null {
  const [active, ended, live] = typeof pace === 'string' ? pace.split(':') : []
  if (!active || !ended || !live) return null
  return { active: Number(active), endedPerSecond: Number(ended), liveAverage: Number(live) }
}

// A view is four values of a script's reply from `at` on: status, position, activeUntil, ownUntil. The
// pace is the same for every place of one call, so a script answers it once, after the last place.
function toView(reply: Reply, at: number, pace: LinePace | null): SessionView {
  return {
    status: reply[at] as SessionStatus,
    position: orNull(reply[at + 1]),
    activeUntilMs: orNull(reply[at + 2]),
    pace,
    ownUntilMs: orNull(reply[at + 3]),
  }
}

export function redisStore(transport: RedisTransport, options: RedisStoreOptions = {}): WaitingRoomStore {
  const prefix = options.prefix ?? 'wr'
  const registryKind = options.registry ?? (transport.kind === 'redis-cluster' ? 'per-slot' : 'single')
  const registry: LineRegistry = registryKind === 'per-slot' ? perSlotRegistry(prefix) : singleRegistry(prefix)
  const keysOf = (concertId: string) => lineKeys(prefix, concertId, registry)
  const timeoutMs = options.timeoutMs ?? 1800
  const unavailable = (cause: unknown) =>
    new ServiceError('SERVICE_UNAVAILABLE', `The waiting room store (${transport.kind}) is unavailable`, {
      retryAfterSeconds: 2,
      cause,
    })

  // On a cluster a failure says something about one master only: the pause is per slot, so a lost
  // master does not take the lines of the others down with it. On one node it covers everything.
  const perSlot = registryKind === 'per-slot'
  const pausedUntil = new Map<number, number>()
  const scopeOf = (keys: string[]) => (perSlot && keys.length > 0 ? keySlot(keys[0]!) : -1)
  const paused = (scope: number) => Date.now() < (pausedUntil.get(scope) ?? 0)
  const pause = (scope: number) => pausedUntil.set(scope, Date.now() + PAUSE_AFTER_FAILURE_MS)

  async function run(script: Script, keys: string[], args: (string | number)[]): Promise<Reply> {
    const scope = scopeOf(keys)
    if (paused(scope)) throw unavailable(new RedisUnavailableError('Redis failed a moment ago; retrying shortly'))
    const argv = args.map(String)
    const attempt = async () => {
      try {
        return await transport.evalsha(script.sha, keys, argv)
      } catch (error) {
        if (!isNoScript(error)) throw error
        return transport.eval(script.text, keys, argv)
      }
    }
    try {
      return (await withDeadline(attempt(), timeoutMs, `waiting-room ${script.name}`)) as Reply
    } catch (error) {
      // A failing script is a bug to be seen (500), not an outage; anything else means Redis is not
      // answering as it should (down, loading, out of memory, refusing our credentials): 503.
      if (error instanceof RedisReplyError && /user_script|script:/.test(error.message)) {
        throw new Error(`waiting-room script ${script.name} failed: ${error.message}`, { cause: error })
      }
      if (!(error instanceof RedisReplyError)) pause(scope)
      throw unavailable(error)
    }
  }

  // The joins and polls of one line that arrive while one of its calls is in flight go to Redis together,
  // as one script call, when it returns (group-commit.ts). Redis being unreachable fails the whole batch;
  // anything else is tried again call by call, so it stays with the call it concerns.
  const batching = { maxBatch: 500, failsAll: isUnavailable }
  const joins = groupCommit<{ concertId: string; userId: string; limits: LineLimits }, JoinResult | 'SOLD_OUT'>(async (_, items) => {
    const { concertId, limits } = items[0]!
    const args: (string | number)[] = [concertId, limits.waitingIdleSeconds * 1000, limits.opensAtMs ?? -1]
    for (const item of items) args.push(item.userId)
    const reply = await run(scripts.join_many, keysOf(concertId), args)
    const pace = paceOf(reply[items.length * 6])
    return items.map((_, i) => {
      const seq = reply[i * 6]
      if (seq === 'SOLD_OUT') return 'SOLD_OUT'
      return { seq: Number(seq), created: Number(reply[i * 6 + 1]) === 1, view: toView(reply, i * 6 + 2, pace) }
    })
  }, batching)

  async function pollMany(concertId: string, tickets: Ticket[], limits: LineLimits): Promise<SessionView[]> {
    if (tickets.length === 0) return []
    const args: (string | number)[] = [limits.waitingIdleSeconds * 1000]
    for (const t of tickets) args.push(t.userId, t.seq)
    const reply = await run(scripts.poll_many, keysOf(concertId), args)
    const pace = paceOf(reply[tickets.length * 4])
    return tickets.map((_, i) => toView(reply, i * 4, pace))
  }
  const polls = groupCommit<{ ticket: Ticket; limits: LineLimits }, SessionView>(
    (_, items) => pollMany(items[0]!.ticket.concertId, items.map((item) => item.ticket), items[0]!.limits),
    batching,
  )

  // The holds that the same Postgres batch made (src/holds/holds.ts) come back together, and each extends
  // its session: the extends of a line that arrive while one of its calls is in flight go together too.
  const extensions = groupCommit<{ ticket: Ticket; untilMs: number; limits: LineLimits }, SessionView>(async (_, items) => {
    const args: (string | number)[] = [items[0]!.limits.waitingIdleSeconds * 1000]
    for (const { ticket, untilMs } of items) args.push(ticket.userId, ticket.seq, Math.ceil(untilMs))
    const reply = await run(scripts.extend_many, keysOf(items[0]!.ticket.concertId), args)
    return items.map((_, i) => toView(reply, i * 4, null))
  }, batching)

  return {
    kind: transport.kind,

    join: (concertId, userId, limits) =>
      joins(`${concertId}|${limits.waitingIdleSeconds}|${limits.opensAtMs ?? -1}`, { concertId, userId, limits }),

    poll: (ticket, limits) => polls(`${ticket.concertId}|${limits.waitingIdleSeconds}`, { ticket, limits }),

    pollMany: (concertId, tickets, limits) => pollMany(concertId, tickets, limits),

    async check(ticket, limits) {
      return toView(await run(scripts.check, keysOf(ticket.concertId), [ticket.userId, ticket.seq, limits.waitingIdleSeconds * 1000]), 0, null)
    },

    extend: (ticket, untilMs, limits) => extensions(`${ticket.concertId}|${limits.waitingIdleSeconds}`, { ticket, untilMs, limits }),

    async shrink(ticket, untilMs) {
      await run(scripts.shrink, keysOf(ticket.concertId), [ticket.userId, ticket.seq, Math.ceil(untilMs)])
    },

    async finish(ticket) {
      await run(scripts.finish, keysOf(ticket.concertId), [ticket.concertId, ticket.userId, ticket.seq])
    },

    async admit(concertId, limits): Promise<AdmitResult> {
      const [admitted, expired, waiting, active] = await run(scripts.admit, keysOf(concertId), [
        concertId,
        limits.maxActive,
        limits.admitPerSecond,
        limits.activeTtlSeconds * 1000,
        limits.waitingIdleSeconds * 1000,
        limits.opensAtMs ?? -1,
        // The secret of the pre-queue's draw, if this step is the one at the opening (see admit.lua).
        randomBytes(32).toString('hex'),
      ])
      return { admitted: Number(admitted), expired: Number(expired), waiting: Number(waiting), active: Number(active) }
    },

    async settlePreQueue(concertId) {
      await run(scripts.settle_pre_queue, keysOf(concertId), [])
    },

    async setSoldOut(concertId, soldOut) {
      await run(scripts.set_sold_out, keysOf(concertId), [soldOut ? '1' : '0'])
    },

    async stats(concertId, limits): Promise<LineStats> {
      const [waiting, active, admitted, oldest, soldOut] = await run(scripts.stats, keysOf(concertId), [
        limits.waitingIdleSeconds * 1000,
      ])
      return {
        waiting: Number(waiting),
        active: Number(active),
        admittedLastMinute: Number(admitted),
        oldestJoinedMs: orNull(oldest),
        soldOut: Number(soldOut) === 1,
      }
    },

    async endSession(concertId, userId) {
      const [ended, seq] = await run(scripts.end_session, keysOf(concertId), [userId])
      return Number(ended) === 1 ? Number(seq) : null
    },

    async lines() {
      if (paused(-1)) throw unavailable(new RedisUnavailableError('Redis failed a moment ago; retrying shortly'))
      try {
        return await withDeadline(transport.members(registry.keys()), timeoutMs, 'waiting-room lines')
      } catch (error) {
        if (!(error instanceof RedisReplyError)) pause(-1)
        throw unavailable(error)
      }
    },

    async ping() {
      try {
        await transport.ping()
      } catch (error) {
        throw unavailable(error)
      }
    },

    close: () => transport.close(),
  }
}
