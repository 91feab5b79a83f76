import type { Cluster, Shopper } from './cluster'
import { issuer, pool, send } from './cluster'

/**
 * Many users join one concert's line spread over the instances, then poll until every one is ACTIVE
 * (the cluster's admission job admits them). Returns them in join order.
 */
export async function admitCrowd(cluster: Cluster, concertId: string, userIds: string[], { concurrency = 128, withinMs = 60_000 } = {}) {
  const shoppers: Shopper[] = await pool(userIds, concurrency, async (userId, i) => {
    const token = await issuer.issue(userId)
    const joined = await send(cluster.url(i), '/v1/queue/tokens', { token, body: { concertId } })
    if (joined.status !== 201 && joined.status !== 200) throw new Error(`join ${userId}: ${joined.status} ${joined.text}`)
    return { userId, token, queueToken: joined.body.token as string }
  })
  let waiting = shoppers.map((s, i) => ({ s, i }))
  const started = Date.now()
  while (waiting.length > 0) {
    if (Date.now() - started > withinMs) throw new Error(`${waiting.length} users not ACTIVE after ${withinMs} ms`)
    await Bun.sleep(600)
    const still = await pool(waiting, concurrency, async (w) => {
      const polled = await send(cluster.url(w.i + 1), '/v1/queue/status', w.s)
      return polled.body?.status === 'ACTIVE' ? null : w
    })
    waiting = still.filter((w): w is { s: Shopper; i: number } => w !== null)
  }
  return shoppers
}
