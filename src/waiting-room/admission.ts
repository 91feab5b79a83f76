import type { Catalogue } from '../catalogue/catalogue'
import type { Settings } from './settings'
import type { WaitingRoomStore } from './store'

// Admission: the tick that every instance runs (one of them at a time, elected in src/jobs) and that
// lets people in from the front of each line, as the line's settings allow.

/** Marks the lines of these concerts sold out when no seat is left; returns the ones that are. */
export async function markSoldOut(catalogue: Catalogue, store: WaitingRoomStore, concertIds: string[]) {
  const soldOut = await catalogue.soldOut(concertIds)
  for (const concertId of soldOut) await store.setSoldOut(concertId, true)
  return soldOut
}

export interface AdmissionDeps {
  store: WaitingRoomStore
  settings: Settings
  catalogue: Catalogue
  /** Told after a step that admitted or expired anyone (pushed status tells its streams at once). */
  onChange?: () => void
}

export function admission({ store, settings, catalogue, onChange = () => {} }: AdmissionDeps) {
  return {
    /**
     * One admission tick over every line, with the settings as of now: sold-out lines are marked, the
     * others admit (a paused line only drops lapsed places).
     */
    async tick() {
      await settings.refresh()
      const lines = await store.lines()
      const soldOut = await markSoldOut(catalogue, store, lines)
      const results = []
      for (const concertId of lines) {
        const limits = settings.limitsFor(concertId)
        const paused = settings.settingsOf(concertId).paused
        const result = await store.admit(concertId, paused ? { ...limits, admitPerSecond: 0 } : limits)
        results.push({ concertId, soldOut: soldOut.has(concertId), paused, ...result })
      }
      if (results.some((r) => r.admitted > 0 || r.expired > 0)) onChange()
      return results
    },

    /** Every instance copies the per-concert settings each tick, whoever runs the admission. */
    refreshSettings: () => settings.refresh(),
  }
}

export type Admission = ReturnType<typeof admission>
