import { afterAll, beforeAll, expect, test } from 'bun:test'
import { reportInvariants } from '../support/invariants'
import { describeWith } from '../support/services'
import { issuer, send, startCluster, type Cluster, type Reply } from './support/cluster'
import { record } from './support/results'

// Abuse limits on real instances with the production rate limit (20 requests per second per user and
// instance, bursts of 40): body size (with and without Content-Length), per-user rate, page sizes.

const LIMIT = 16 * 1024
const isProblem = (r: Reply, status: number, code: string) =>
  r.status === status && r.headers.get('content-type') === 'application/problem+json' && r.body?.code === code

function chunked(text: string): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text)
  return new ReadableStream({
    start(controller) {
      for (let at = 0; at < bytes.length; at += 4096) controller.enqueue(bytes.slice(at, at + 4096))
      controller.close()
    },
  })
}

describeWith(['DATABASE_URL', 'REDIS_URL'], 'reliability: abuse limits on real instances', () => {
  let cluster: Cluster
  beforeAll(async () => {
    cluster = await startCluster({ instances: 2, env: { RATE_LIMIT_PER_SECOND: '20', RATE_LIMIT_BURST: '40' } })
  }, 60_000)
  afterAll(async () => {
    await cluster?.stop()
  }, 60_000)

  test('18. abuse limits: oversized bodies 413 (with and without Content-Length), per-user rate limit 429 + Retry-After, page sizes capped', async () => {
    const url = cluster.url(0)
    // Bodies: one byte over the limit, with a length and chunked; far over it; exactly at it.
    const sizer = await issuer.issue('l18-sizer')
    const padded = (size: number) => {
      const head = '{"amount":1,"pad":"'
      return head + 'x'.repeat(size - head.length - 2) + '"}'
    }
    const charge = (rawBody: string | ReadableStream<Uint8Array>) => send(url, '/v1/balance/charges', { token: sizer, rawBody })
    const bodies = {
      'over, Content-Length': await charge(padded(LIMIT + 1)),
      'over, chunked': await charge(chunked(padded(LIMIT + 1))),
      '5 MiB, Content-Length': await charge(padded(5 * 1024 * 1024)),
      '5 MiB, chunked': await charge(chunked(padded(5 * 1024 * 1024))),
    }
    const atLimit = await charge(padded(LIMIT)) // at the limit: read, then refused for its unknown field
    const tooLarge = Object.values(bodies).filter((r) => isProblem(r, 413, 'PAYLOAD_TOO_LARGE')).length

    // Rate: 100 requests at once from one user on one instance; another user meanwhile; the same user elsewhere.
    const greedy = await issuer.issue('l18-greedy')
    const polite = await issuer.issue('l18-polite')
    const [burst, others] = await Promise.all([
      Promise.all(Array.from({ length: 100 }, () => send(url, '/v1/balance', { token: greedy }))),
      Promise.all(Array.from({ length: 10 }, () => send(url, '/v1/balance', { token: polite }))),
    ])
    const allowed = burst.filter((r) => r.status === 200).length
    const limited = burst.filter((r) => isProblem(r, 429, 'RATE_LIMITED') && Number(r.headers.get('retry-after')) >= 1).length
    const elsewhere = await send(cluster.url(1), '/v1/balance', { token: greedy })
    const retryAfter = Math.max(...burst.filter((r) => r.status === 429).map((r) => Number(r.headers.get('retry-after'))))
    await Bun.sleep(retryAfter * 1000)
    const afterWaiting = await send(url, '/v1/balance', { token: greedy })

    // Pages: 130 ledger entries, paced under the rate limit over both instances.
    const reader = await issuer.issue('l18-reader')
    for (let i = 0; i < 130; i++) {
      expect((await cluster.charge(i, reader, 1)).status).toBe(201)
      await Bun.sleep(30)
    }
    const history = (q: string) => send(cluster.url(1), `/v1/balance/history${q}`, { token: reader })
    const defaultPage = await history('')
    const fullPage = await history('?limit=100')
    const refused = await Promise.all(['?limit=101', '?limit=1000', '?limit=0', '?limit=-1', '?limit=abc', '?limit=1.5'].map(history))
    const reservationsRefused = await send(url, '/v1/reservations?limit=101', { token: reader })
    const reservationsMax = await send(url, '/v1/reservations?limit=100', { token: reader })
    const seen = new Set<string>()
    let cursor: string | null = null
    let pages = 0
    do {
      const page: Reply = await history(`?limit=100${cursor ? `&cursor=${cursor}` : ''}`)
      for (const entry of page.body.entries) seen.add(entry.entryId)
      cursor = page.body.nextCursor
      pages++
    } while (cursor && pages < 10)

    const { total } = await reportInvariants(cluster.db.sql, 'check 18')
    const figures = {
      '413 problem+json (over by 1 B with length / chunked, 5 MiB with length / chunked)': `${tooLarge} of 4`,
      'at the limit': `${atLimit.status} ${atLimit.body?.code}`,
      'burst of 100: allowed / 429 with Retry-After': `${allowed} / ${limited}`,
      'other user meanwhile': `${others.filter((r) => r.status === 200).length} of 10 ok`,
      'same user on the other instance': elsewhere.status,
      [`after Retry-After (${retryAfter} s)`]: afterWaiting.status,
      'page sizes (default, 100)': `${defaultPage.body.entries?.length}, ${fullPage.body.entries?.length}`,
      'limits over 100 or invalid refused': `${refused.filter((r) => isProblem(r, 400, 'VALIDATION_FAILED')).length + (isProblem(reservationsRefused, 400, 'VALIDATION_FAILED') ? 1 : 0)} of ${refused.length + 1}`,
      'all 130 entries over the pages': seen.size,
      'invariant violations': total,
    }
    const pass = tooLarge === 4 && isProblem(atLimit, 400, 'VALIDATION_FAILED') && allowed >= 40 && allowed <= 45 && limited === 100 - allowed &&
      others.every((r) => r.status === 200) && elsewhere.status === 200 && afterWaiting.status === 200 &&
      defaultPage.body.entries.length === 20 && fullPage.body.entries.length === 100 && refused.every((r) => r.status === 400) &&
      reservationsRefused.status === 400 && reservationsMax.status === 200 && seen.size === 130 && total === 0
    record(18, 'abuse limits', figures, pass)
    expect(tooLarge).toBe(4)
    expect(atLimit.body.code).toBe('VALIDATION_FAILED')
    expect(allowed).toBeGreaterThanOrEqual(40)
    expect(allowed).toBeLessThanOrEqual(45)
    expect(limited).toBe(100 - allowed)
    expect(others.every((r) => r.status === 200)).toBe(true)
    expect([elsewhere.status, afterWaiting.status]).toEqual([200, 200])
    expect([defaultPage.body.entries.length, fullPage.body.entries.length]).toEqual([20, 100])
    expect(refused.map((r) => r.status)).toEqual([400, 400, 400, 400, 400, 400])
    expect([reservationsRefused.status, reservationsMax.status]).toEqual([400, 200])
    expect(seen.size).toBe(130)
    expect(total).toBe(0)
  }, 60_000)
})
