import type { Catalogue } from '../catalogue/catalogue'
import { ServiceError } from '../errors'
import type { LinePatch } from './model'
import type { Settings } from './settings'
import type { WaitingRoomStore } from './store'

// What the operator of an on-sale does to a line: read it out, pause or resume it, change its capacity
// or rate, end one user's place.
export function lineOperator({ store, settings, catalogue }: { store: WaitingRoomStore; settings: Settings; catalogue: Catalogue }) {
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

    /** Ends a user's live place; other instances stop trusting it for catalogue reads within 30 s. */
    async endSession(concertId: string, userId: string) {
      if (!(await store.endSession(concertId, userId))) throw new ServiceError('NOT_FOUND', 'This user has no live place in this line')
    },
  }
}

export type LineOperator = ReturnType<typeof lineOperator>
