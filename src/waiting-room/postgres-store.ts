import { randomBytes } from 'node:crypto'
import type { Sql } from '../db/client'
import { advisoryLocks } from '../db/locks'
import { ServiceError, unavailable } from '../errors'
import { statements, theRow } from '../db/statements'
import { groupCommit } from '../db/group-commit'
import type { AdmitResult, JoinResult, LineLimits, LineStats, SessionView, Ticket, WaitingRoomStore } from './store'

const q = statements('waiting-room', [
  'pg_join_many',
  'pg_open_line',
  'pg_expire_stale',
  'pg_poll_many',
  'pg_check',
  'pg_extend_many',
  'pg_shrink',
  'pg_finish',
  'pg_lock_line',
  'pg_admit',
  'pg_draw',
  'pg_draw_settle',
  'pg_settle_pre_queue',
  'pg_rank_line',
  'pg_set_sold_out',
  'pg_lines',
  'pg_stats',
  'pg_end_session',
])
const setup = statements('setup', ['ping'])

interface ViewRow {
  status: SessionView['status']
  position: number | null
  active_until_ms: number | null
  /** How fast places come free (sql/functions/queue_pace.sql); null from the guards and when nothing was measured. */
  line_active: number | null
  ended_per_second: number | null
  live_average: number | null
  /** Only from pg_check and pg_extend_many (the guards); other views leave it out. */
  own_until_ms?: number | null
}

/** Postgres' undefined_table: here, the sequence of a line's places does not exist yet. */
const UNDEFINED_TABLE = '42P01'

const GONE: SessionView = { status: 'EXPIRED', position: null, activeUntilMs: null, pace: null, ownUntilMs: null }

function toView(row: ViewRow | undefined): SessionView {
  if (!row) return GONE
  return {
    status: row.status,
    position: row.position,
    activeUntilMs: row.active_until_ms,
    pace:
      row.line_active === null || row.ended_per_second === null || row.live_average === null
        ? null
        : { active: Number(row.line_active), endedPerSecond: row.ended_per_second, liveAverage: row.live_average },
    ownUntilMs: row.own_until_ms ?? null,
  }
}

/** The most places one statement joins or polls. */
const MAX_BATCH = 500

type JoinRow = ViewRow & { user_id: string; sold_out: boolean | null; seq: number | null; created: boolean | null }
type JoinAnswer = JoinResult | 'SOLD_OUT' | 'LAPSED' | 'NO_LINE'

// The waiting room on Postgres tables (sql/waiting-room/pg_*.sql): the embedded default.
export function postgresStore(sql: Sql): WaitingRoomStore {
  /** Polls places of one line in one statement; minAgeSeconds: see pg_poll_many.sql. */
  async function pollPlaces(concertId: string, tickets: Ticket[], idleSeconds: number, minAgeSeconds: number) {
    const rows = await q.pg_poll_many<ViewRow & { ord: number }>(sql, [
      concertId,
      tickets.map((t) => t.seq),
      tickets.map((t) => t.userId),
      idleSeconds,
      minAgeSeconds,
    ])
    const byOrder = new Map(rows.map((r) => [r.ord, r]))
    return tickets.map((_, i) => toView(byOrder.get(i + 1)))
  }

  /** One statement for the joins of distinct users of one line (pg_join_many.sql). */
  async function joinUsers(concertId: string, userIds: string[], limits: LineLimits): Promise<JoinAnswer[]> {
    let rows: JoinRow[]
    try {
      rows = await q.pg_join_many<JoinRow>(sql, [concertId, userIds, limits.waitingIdleSeconds, advisoryLocks.queueLines, limits.opensAtMs ?? null])
    } catch (error) {
      // A line whose row was made by marking it sold out has no sequence of places yet.
      if ((error as { code?: string }).code === UNDEFINED_TABLE) return userIds.map(() => 'NO_LINE')
      throw error
    }
    const byUser = new Map(rows.map((r) => [r.user_id, r]))
    return userIds.map((userId) => {
      // Every user has a row; none means the answer was cut off (theRow: a 503, not a TypeError).
      const row = byUser.get(userId) ?? theRow<JoinRow>([], 'pg_join_many')
      if (row.sold_out === null) return 'NO_LINE'
      if (row.sold_out) return 'SOLD_OUT'
      if (row.seq === null) return 'LAPSED'
      return { seq: row.seq, created: row.created!, view: toView(row) }
    })
  }

  // Concurrent polls of one line (with the same limits) go as one statement, and so do concurrent joins:
  // src/db/group-commit.ts.
  const polls = groupCommit<Ticket & { idleSeconds: number }, SessionView>(
    (key, tickets) => pollPlaces(tickets[0]!.concertId, tickets, tickets[0]!.idleSeconds, 0),
    { maxBatch: MAX_BATCH, failsAll: unavailable },
  )
  const joins = groupCommit<{ concertId: string; userId: string; limits: LineLimits }, JoinAnswer>(async (key, calls) => {
    const { concertId, limits } = calls[0]!
    // One place per user: the first of a user's calls here joins, the others read the place it got.
    const users = [...new Set(calls.map((c) => c.userId))]
    const answers = await joinUsers(concertId, users, limits)
    const byUser = new Map(users.map((u, i) => [u, answers[i]!]))
    const seen = new Set<string>()
    return calls.map((c) => {
      const answer = byUser.get(c.userId)!
      if (seen.has(c.userId) && typeof answer === 'object') return { ...answer, created: false }
      seen.add(c.userId)
      return answer
    })
  }, { maxBatch: MAX_BATCH, failsAll: unavailable })

  // Extensions of a line that arrive while one of its statements is in flight go together, one commit
  // for all of them. A session not extended answers as it is (pg_check). (The app's holds on this store
  // extend their sessions in their own statement, sql/functions/hold_seats.sql, and do not come here.)
  const extensions = groupCommit<{ ticket: Ticket; untilMs: number; limits: LineLimits }, SessionView>(async (_, calls) => {
    const { ticket, limits } = calls[0]!
    const rows = await q.pg_extend_many<ViewRow & { seq: number; user_id: string }>(sql, [
      ticket.concertId,
      calls.map((c) => c.ticket.seq),
      calls.map((c) => c.ticket.userId),
      calls.map((c) => Math.ceil(c.untilMs)),
      limits.activeTtlSeconds,
    ])
    const extended = new Map(rows.map((r) => [`${r.seq}|${r.user_id}`, r]))
    return Promise.all(calls.map(async (c) => {
      const row = extended.get(`${c.ticket.seq}|${c.ticket.userId}`)
      return row ? toView(row) : check(c.ticket, c.limits)
    }))
  }, { maxBatch: MAX_BATCH, failsAll: unavailable })

  async function check(ticket: Ticket, limits: LineLimits) {
    const [row] = await q.pg_check<ViewRow>(sql, [ticket.seq, ticket.concertId, ticket.userId, limits.waitingIdleSeconds, limits.activeTtlSeconds])
    return toView(row)
  }

  return unavailableAsOne({
    kind: 'postgres',

    async join(concertId, userId, limits): Promise<JoinResult | 'SOLD_OUT'> {
      const key = `${concertId}:${limits.waitingIdleSeconds}:${limits.opensAtMs ?? ''}`
      // At most three rounds: open the line if it is new, expire a lapsed place, then join.
      for (let round = 0; round < 3; round++) {
        const answer = await joins(key, { concertId, userId, limits })
        if (answer === 'NO_LINE') {
          await q.pg_open_line(sql, [concertId, advisoryLocks.queueLines])
        } else if (answer === 'LAPSED') {
          await q.pg_expire_stale(sql, [concertId, userId, limits.waitingIdleSeconds, advisoryLocks.queueLines])
        } else {
          return answer
        }
      }
      throw new Error('joining the line did not settle in three rounds')
    },

    async poll(ticket: Ticket, limits: LineLimits) {
      return polls(`${ticket.concertId}:${limits.waitingIdleSeconds}`, { ...ticket, idleSeconds: limits.waitingIdleSeconds })
    },

    async pollMany(concertId, tickets, limits) {
      if (tickets.length === 0) return []
      // Watchers are asked every tick: a place is rewritten only once a tenth of the idle limit has passed.
      return pollPlaces(concertId, tickets, limits.waitingIdleSeconds, limits.waitingIdleSeconds / 10)
    },

    check,

    extend: (ticket, untilMs, limits) => extensions(`${ticket.concertId}:${limits.activeTtlSeconds}:${limits.waitingIdleSeconds}`, { ticket, untilMs, limits }),

    async shrink(ticket, untilMs, limits) {
      await q.pg_shrink(sql, [ticket.seq, ticket.concertId, ticket.userId, Math.ceil(untilMs), limits.activeTtlSeconds])
    },

    async finish(ticket) {
      await q.pg_finish(sql, [ticket.seq, ticket.concertId, ticket.userId])
    },

    async admit(concertId, limits): Promise<AdmitResult> {
      return sql.begin(async (tx) => {
        const locked = await q.pg_lock_line(tx, [concertId, advisoryLocks.queueLines])
        if (locked.length === 0) return { admitted: 0, expired: 0, waiting: 0, active: 0 }
        // At the opening: the pre-queue's random order, with a fresh secret (see pg_draw.sql).
        if (limits.opensAtMs != null) {
          await q.pg_draw(tx, [concertId, limits.opensAtMs, randomBytes(32)])
          await q.pg_draw_settle(tx, [concertId])
        }
        const { ranking_due: rankingDue, ...result } = theRow(
          await q.pg_admit<AdmitResult & { ranking_due: boolean }>(tx, [
            concertId,
            limits.maxActive,
            limits.admitPerSecond,
            limits.activeTtlSeconds,
            limits.waitingIdleSeconds,
            limits.opensAtMs ?? null,
          ]),
          'pg_admit',
        )
        if (rankingDue) await q.pg_rank_line(tx, [concertId, limits.waitingIdleSeconds])
        return result
      }) as Promise<AdmitResult>
    },

    async settlePreQueue(concertId) {
      await q.pg_settle_pre_queue(sql, [concertId])
    },

    async setSoldOut(concertId, soldOut) {
      await q.pg_set_sold_out(sql, [concertId, soldOut])
    },

    async stats(concertId, limits): Promise<LineStats> {
      const row = theRow(await q.pg_stats<{
        waiting: number
        active: number
        admitted_last_minute: number
        oldest_joined_ms: number | null
        sold_out: boolean
      }>(sql, [concertId, limits.waitingIdleSeconds]), 'pg_stats')
      return {
        waiting: row.waiting,
        active: row.active,
        admittedLastMinute: row.admitted_last_minute,
        oldestJoinedMs: row.oldest_joined_ms,
        soldOut: row.sold_out,
      }
    },

    async endSession(concertId, userId) {
      const row = theRow(await q.pg_end_session<{ seq: number | null }>(sql, [concertId, userId, advisoryLocks.queueLines]), 'pg_end_session')
      return row.seq
    },

    async lines() {
      return (await q.pg_lines<{ concert_id: string }>(sql)).map((r) => r.concert_id)
    },

    async ping() {
      await setup.ping(sql)
    },

    async close() {},
  })
}

/**
 * A Postgres that cannot serve fails the waiting room the way a Redis that cannot serve does: one
 * SERVICE_UNAVAILABLE error with Retry-After, whichever store it was.
 */
function unavailableAsOne(store: WaitingRoomStore): WaitingRoomStore {
  const guarded = { ...store } as Record<string, unknown>
  for (const [name, method] of Object.entries(store)) {
    if (typeof method !== 'function') continue
    guarded[name] = async (...args: unknown[]) => {
      try {
        return await method.apply(guarded, args)
      } catch (error) {
        if (!unavailable(error) || error instanceof ServiceError) throw error
        throw new ServiceError('SERVICE_UNAVAILABLE', 'The waiting room store (postgres) is unavailable', { retryAfterSeconds: 2, cause: error })
      }
    }
  }
  return guarded as unknown as WaitingRoomStore
}
