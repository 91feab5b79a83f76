import type { Db, Sql } from '../db/client'
import { reads, statements } from '../db/statements'
import type { LinePatch } from './model'
import type { LineLimits } from './store'

const q = statements('waiting-room', ['update_line_settings'])
const read = reads('waiting-room', ['list_line_settings', 'line_settings_of'])

export interface LineSettings {
  paused: boolean
  maxActive: number
  admitPerSecond: number
  /** ISO time the sale opens (the pre-queue before it), or null. */
  salesOpenAt: string | null
}


interface Row {
  concert_id: string
  paused: boolean
  max_active: number | null
  admit_per_second: number | null
  sales_open_at: Date | null
}

const LIMITS_CACHE = 10_000

// Per-concert overrides of the queue settings, kept in Postgres and copied into every instance once
// per admission tick (refresh), so reads cost nothing and a change reaches every instance in one tick.
// A line this instance has not met is read before it first answers for it (know): a concert created
// with an opening a moment ago on another instance must put its first joiners in the pre-queue, not at
// ordinary places they would keep for good (hostile probe: 3 of 3 joins within 100 ms of the creation).
export function lineSettings(sql: Sql, defaults: LineLimits, { openingCleared = async () => {} }: { openingCleared?: (concertId: string) => Promise<void> } = {}) {
  let overrides = new Map<string, Row>()
  // Lines whose opening this instance saw cleared (an opening, then none) and whose pre-queue it has not
  // settled yet (openingCleared: the store's settlePreQueue). Every instance settles once it hears of the
  // change, so a place it gave in the pre-queue before it heard is settled too; one that failed is tried
  // again at the next refresh.
  const unsettled = new Set<string>()
  const noteCleared = (concertId: string, before: Row | undefined, after: Row | undefined) => {
    if (before?.sales_open_at != null && after?.sales_open_at == null) unsettled.add(concertId)
  }
  async function settle() {
    for (const concertId of [...unsettled]) {
      await openingCleared(concertId)
      unsettled.delete(concertId)
    }
  }
  // Lines read by know() and found without settings of their own; a later change arrives with refresh.
  const withoutOverrides = new Set<string>()
  // The limits of each line as last built: every join and poll asks for them. Built again after any change.
  let limits = new Map<string, Readonly<LineLimits>>()
  const override = (concertId: string, row: Row) => {
    overrides.set(concertId, row)
    limits.delete(concertId)
  }
  const settingsOf = (concertId: string): LineSettings => {
    const row = overrides.get(concertId)
    return {
      paused: row?.paused ?? false,
      maxActive: row?.max_active ?? defaults.maxActive,
      admitPerSecond: row?.admit_per_second ?? defaults.admitPerSecond,
      salesOpenAt: row?.sales_open_at ? row.sales_open_at.toISOString() : null,
    }
  }
  return {
    defaults,
    settingsOf,

    /** The limits of one line; `admitPerSecond` is the configured pace even while paused. */
    limitsFor(concertId: string): Readonly<LineLimits> {
      const known = limits.get(concertId)
      if (known) return known
      const row = overrides.get(concertId)
      const built = Object.freeze({
        ...defaults,
        maxActive: row?.max_active ?? defaults.maxActive,
        admitPerSecond: row?.admit_per_second ?? defaults.admitPerSecond,
        opensAtMs: row?.sales_open_at ? row.sales_open_at.getTime() : null,
        paused: row?.paused ?? false,
      })
      // Bounded like the other per-concert maps of an instance: cleared when full, rebuilt on demand.
      if (limits.size >= LIMITS_CACHE) limits.clear()
      limits.set(concertId, built)
      return built
    },

    /**
     * Makes sure this instance has the line's settings before it answers for the line (a join, a status
     * read): read once for a line that is neither among the overrides nor known to have none. Returns
     * undefined when there is nothing to read, so that the reads of every known line await nothing.
     */
    know(concertId: string): Promise<void> | undefined {
      if (overrides.has(concertId) || withoutOverrides.has(concertId)) return undefined
      return read.line_settings_of<Row>(sql, [concertId]).then(([row]) => {
        if (row) return override(concertId, row)
        if (withoutOverrides.size >= LIMITS_CACHE) withoutOverrides.clear()
        withoutOverrides.add(concertId)
      })
    },

    async refresh() {
      const rows = await read.list_line_settings<Row>(sql)
      const next = new Map(rows.map((r) => [r.concert_id, r]))
      for (const [concertId, before] of overrides) noteCleared(concertId, before, next.get(concertId))
      overrides = next
      limits = new Map()
      await settle()
    },

    /**
     * Runs `create` (a new concert) and stores its opening in one transaction, so a concert never exists
     * without the opening it was created with.
     */
    async createWithOpening<T extends { concertId: string }>(salesOpenAt: string, create: (db: Db) => Promise<T>): Promise<T> {
      const { created, row } = (await sql.begin(async (tx) => {
        const created = await create(tx)
        const [row] = await q.update_line_settings<Row>(tx, [created.concertId, null, false, null, false, null, true, salesOpenAt])
        return { created, row: row! }
      })) as { created: T; row: Row }
      override(created.concertId, row)
      return created
    },

    async update(concertId: string, patch: LinePatch): Promise<LineSettings> {
      const [row] = await q.update_line_settings<Row>(sql, [
        concertId,
        patch.paused ?? null,
        patch.maxActive !== undefined,
        patch.maxActive ?? null,
        patch.admitPerSecond !== undefined,
        patch.admitPerSecond ?? null,
        patch.salesOpenAt !== undefined,
        patch.salesOpenAt ?? null,
      ])
      noteCleared(concertId, overrides.get(concertId), row)
      override(concertId, row!)
      // The change is made; a pre-queue the store could not settle now is settled at the next refresh.
      await settle().catch(() => {})
      return settingsOf(concertId)
    },
  }
}

export type Settings = ReturnType<typeof lineSettings>
