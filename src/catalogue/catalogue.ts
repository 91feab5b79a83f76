import type { Db, Sql } from '../db/client'
import { reads, statements, theRow } from '../db/statements'
import { sharedAnswer, type SharedAnswer } from '../http/shared-answer'
import type { ConcertSummary, CreatedConcert, NewConcert, ScheduleSummary } from './model'
import { keptMaps } from './kept-maps'
import { SeatStates } from './seat-states'
import { recent } from './recent'

const q = statements('catalogue', ['create_concert'])
const read = reads('catalogue', [
  'list_concerts',
  'concert_exists',
  'schedule_concert',
  'list_schedules',
  'seat_states',
  'seat_changes',
  'sold_out_concerts',
  'count_concerts',
])

// Concerts and schedules are never deleted or moved, so which concert a schedule belongs to (and that a
// concert exists) can be remembered for the life of the process.
const DIRECTORY_LIMIT = 100_000
/**
 * Bytes of seats and seat maps kept in memory. A 100,000-seat schedule read in every form keeps ~2.5 MB: its
 * seats (1.7 MB) and its maps compressed; a full map as it is (5 MB) only once a reader took it uncompressed.
 */
const SEAT_MAP_BYTES = 40 * 1024 * 1024

export function catalogue(sql: Sql, { cacheMs = 0 }: { cacheMs?: number } = {}) {
  const scheduleConcerts = new Map<string, string>()
  const knownConcerts = new Set<string>()
  const recentSchedules = recent<ScheduleSummary[]>(cacheMs)
  const seatMaps = keptMaps({
    cacheMs,
    byteBudget: SEAT_MAP_BYTES,
    // Rows as bytes (statements' raw): the statuses are one byte a seat as Postgres sent them.
    async read(scheduleId, kept) {
      if (kept && kept.apply(theRow(await read.seat_changes.raw(sql, [scheduleId, kept.snapshot]), 'seat_changes'))) return kept
      return SeatStates.read(theRow(await read.seat_states.raw(sql, [scheduleId]), 'seat_states'))
    },
  })
  const recentConcertPages = recent<{ answer: SharedAnswer; lastIfMore: string | null }>(cacheMs)
  const listConcerts = async (limit: number, after: string | null = null): Promise<ConcertSummary[]> => {
    const rows = await read.list_concerts<{ concert_id: string; title: string; schedules: number }>(sql, [after, limit])
    return rows.map((r) => ({ concertId: r.concert_id, title: r.title, schedules: r.schedules }))
  }

  return {
    /** A page of the catalogue in creation order, after the concert `after` (or from the start). */
    listConcerts,

    /**
     * A page of the public list as a shared answer (one query and one serialisation per cache window, for
     * every visitor of the on-sale page), and the id of its last concert when more follow.
     */
    concertPage(limit: number, after: string | null): Promise<{ answer: SharedAnswer; lastIfMore: string | null }> {
      return recentConcertPages(`${limit}:${after}`, async () => {
        const rows = await listConcerts(limit + 1, after)
        const items = rows.slice(0, limit)
        return { answer: sharedAnswer(JSON.stringify(items)), lastIfMore: rows.length > limit ? items[items.length - 1]!.concertId : null }
      })
    },

    async concertExists(concertId: string): Promise<boolean> {
      if (knownConcerts.has(concertId)) return true
      const row = theRow(await read.concert_exists<{ found: boolean }>(sql, [concertId]), 'concert_exists')
      if (row.found) {
        if (knownConcerts.size >= DIRECTORY_LIMIT) knownConcerts.clear()
        knownConcerts.add(concertId)
      }
      return row.found
    },

    /** The concert a schedule belongs to, or null if there is no such schedule. */
    async concertOfSchedule(scheduleId: string): Promise<string | null> {
      const known = scheduleConcerts.get(scheduleId)
      if (known) return known
      const [row] = await read.schedule_concert<{ concert_id: string }>(sql, [scheduleId])
      if (!row) return null
      if (scheduleConcerts.size >= DIRECTORY_LIMIT) scheduleConcerts.clear()
      scheduleConcerts.set(scheduleId, row.concert_id)
      return row.concert_id
    },

    listSchedules(concertId: string, availableOnly: boolean): Promise<ScheduleSummary[]> {
      return recentSchedules(`${concertId}:${availableOnly}`, async () => {
        const rows = await read.list_schedules<{ schedule_id: string; starts_at: Date; total_seats: number; available_seats: number }>(
          sql,
          [concertId, availableOnly],
        )
        return rows.map((r) => ({
          scheduleId: r.schedule_id,
          startsAt: r.starts_at.toISOString(),
          totalSeats: r.total_seats,
          availableSeats: r.available_seats,
        }))
      })
    },

    /**
     * The seat map as a shared answer: its bytes, ETag and compressed forms are made once and reused by
     * every reader until a seat of the schedule changes (asked at most once per cache window; kept-maps.ts).
     */
    seatMap(scheduleId: string, availableOnly: boolean): SharedAnswer | Promise<SharedAnswer> {
      return seatMaps(scheduleId, availableOnly ? 'available' : 'all')
    },

    /** The compact seat map (SeatMapCompact), kept like the full one. */
    compactSeatMap(scheduleId: string): SharedAnswer | Promise<SharedAnswer> {
      return seatMaps(scheduleId, 'compact')
    },

    async soldOut(concertIds: string[]): Promise<Set<string>> {
      if (concertIds.length === 0) return new Set()
      const rows = await read.sold_out_concerts<{ concert_id: string }>(sql, [concertIds])
      return new Set(rows.map((r) => r.concert_id))
    },

    async createConcert(input: NewConcert, db: Db = sql): Promise<CreatedConcert> {
      const concertId = crypto.randomUUID()
      const scheduleIds = input.schedules.map(() => crypto.randomUUID())
      await q.create_concert(db, [
        concertId,
        input.title,
        scheduleIds,
        input.schedules.map((s) => s.startsAt),
        input.schedules.map((s) => s.seatCount),
        input.schedules.map((s) => s.price),
      ])
      return { concertId, schedules: scheduleIds.map((scheduleId) => ({ scheduleId })) }
    },

    async isEmpty(db: Db = sql): Promise<boolean> {
      const row = theRow(await read.count_concerts<{ concerts: number }>(db), 'count_concerts')
      return row.concerts === 0
    },
  }
}

export type Catalogue = ReturnType<typeof catalogue>
