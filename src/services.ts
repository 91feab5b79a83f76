import type { Config } from './config'
import type { Sql } from './db/client'
import { balance } from './balance/balance'
import { catalogue } from './catalogue/catalogue'
import { seedDemo } from './catalogue/demo'
import { holds } from './holds/holds'
import { seatHolds } from './holds/seat-holds'
import { rateLimiter } from './http/rate-limit'
import { userTokens } from './identity/user-tokens'
import type { Log } from './log'
import type { Metrics } from './metrics/metrics'
import { payments } from './payments/payments'
import { admission } from './waiting-room/admission'
import { lineOperator } from './waiting-room/operator'
import { deriveQueueTokenSecret, queueTokens } from './waiting-room/queue-token'
import { lineSettings } from './waiting-room/settings'
import { openStore } from './waiting-room/stores'
import { waitingRoom } from './waiting-room/waiting-room'

// The composition root: every service of an instance, made once and wired to the ones it needs. Nothing
// else constructs a service; routes and jobs receive what is made here.
export async function composeServices(config: Config, sql: Sql, { authSecret, log, metrics }: { authSecret: string; log: Log; metrics: Metrics }) {
  const tokens = userTokens(authSecret)
  const shop = catalogue(sql, { cacheMs: config.catalogueCacheMs })
  if (config.seedDemo && (await seedDemo(sql, shop))) log({ level: 'info', msg: 'demo concerts loaded' })

  const store = metrics.timedStore(await openStore(config, sql))
  const settings = lineSettings(sql, {
    maxActive: config.queue.maxActive,
    admitPerSecond: config.queue.admitPerSecond,
    activeTtlSeconds: config.queue.activeTtlSeconds,
    waitingIdleSeconds: config.queue.waitingIdleSeconds,
  }, { openingCleared: (concertId) => store.settlePreQueue(concertId) })
  await settings.refresh()
  metrics.watchLines(store, (concertId) => settings.limitsFor(concertId))
  const lines = { store, settings, catalogue: shop }
  const heldSeats = holds(sql, { holdTtlSeconds: config.holdTtlSeconds, maxHoldsPerUser: config.maxHoldsPerUser })
  const room = waitingRoom({
    store,
    tokens: queueTokens(config.queueTokenSecret ?? deriveQueueTokenSecret(authSecret)),
    catalogue: shop,
    settings,
    sessionsThatPaid: heldSeats.sessionsThatPaid,
    log,
    pushTickMs: config.queue.tickMs,
  })

  return {
    catalogue: shop,
    store,
    room,
    // The status streams of this instance hear an admission now rather than at their next push tick.
    admission: admission({ ...lines, onChange: () => room.push.pushNow() }),
    operator: lineOperator({
      ...lines,
      sessionEnded: (session) => {
        room.sessionEnded(session)
        return heldSeats.sessionEnded(session)
      },
    }),
    holds: heldSeats,
    seatHolds: seatHolds({ holds: heldSeats, catalogue: shop, room, metrics, log }),
    payments: payments(sql, room, metrics),
    balance: balance(sql, { maxBalance: config.maxBalance }),
    userTokens: tokens,
    users: { tokens, limiter: rateLimiter(config.rateLimit) },
  }
}
