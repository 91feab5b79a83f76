import type { Catalogue } from '../catalogue/catalogue'
import { ServiceError } from '../errors'
import type { LinePatch } from './model'
import type { Settings } from './settings'
import type { Ticket, WaitingRoomStore } from './store'

export interface LineOperatorDeps {
  store: WaitingRoomStore
  settings: Settings
  catalogue: Catalogue
  /**
   * The booking side of an ended session: its holds are refused and released; returns how many were, or
   * null when a payment had ended the session already.
   */
  sessionEnded: (session: Ticket) => Promise<number | null>
}

// What the operator of an on-sale does to a line: read it out, pause or resume it, change its capacity
// or rate, end one user's place.
export function lineOperator({ store, settings, catalogue, sessionEnded }: LineOperatorDeps) {
  async function requireConcert(concertId: string) {
    if (!(await catalogue.concertExists(concertId))) throw new ServiceError('NOT_FOUND', 'No such concert')
  }

  return {
    /** The operator's read-out of one line. */
    async readout(concertId: string) {
      await requireConcert(concertId)
      const stats = await store.stats(concertId, settings.limitsFor(concertId))
      const { oldestJoinedMs, ...counts } = stats
      return {
        concertId,
        ...settings.settingsOf(concertId),
        ...counts,
        oldestWaitSeconds: oldestJoinedMs === null ? null : Math.max(0, Math.round((Date.now() - oldestJoinedMs) / 1000)),
      }
    },

    /** A new concert and its opening, in one transaction (see settings.createWithOpening). */
    createWithOpening: settings.createWithOpening,

    async updateLine(concertId: string, patch: LinePatch) {
      await requireConcert(concertId)
      await settings.update(concertId, patch)
      return this.readout(concertId)
    },

    /**
     * Ends a user's live place, then its booking side: from the answer on, no instance makes a hold in
     * that session (even one that saw it ACTIVE moments ago), and the holds it had are released, as they
     * could no longer be paid. Catalogue reads stop at once on this instance, within 30 s on others that
     * trusted it. If the database cannot be told (503), the place has ended all the same: a hold then
     * still lands only to be undone when the store refuses to extend the session, and its holds lapse in
     * their own time.
     */
    async endSession(concertId: string, userId: string): Promise<{ holdsReleased: number }> {
      const seq = await store.endSession(concertId, userId)
      const noPlace = () => new ServiceError('NOT_FOUND', 'This user has no live place in this line')
      if (seq === null) throw noPlace()
      const holdsReleased = await sessionEnded({ concertId, userId, seq })
      // A payment had ended the session (its end was on its way to the store): there was no live place.
      if (holdsReleased === null) throw noPlace()
      return { holdsReleased }
    },
  }
}

export type LineOperator = ReturnType<typeof lineOperator>
