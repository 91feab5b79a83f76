// Shared steps of the k6 scripts: configuration from the environment, the thresholds, and the client
// side of the booking path (dev tokens, admin concerts, charges, joining and waiting for admission).
// Every script makes its own users and data in setup(), so it can run against any deployed instance
// that has AUTH_DEV_TOKENS=true and ADMIN_API_KEY set.
import http, { type RefinedResponse, type ResponseType } from 'k6/http'
import { fail, sleep } from 'k6'
import type { Options } from 'k6/options'

export const BASE_URL = (__ENV.BASE_URL ?? 'http://localhost:3000').replace(/\/$/, '')
export const ADMIN_API_KEY = __ENV.ADMIN_API_KEY ?? ''
export const VUS = Number(__ENV.VUS ?? 64)
export const DURATION = __ENV.DURATION ?? '30s'
/** How many users setup() prepares (scripts that use each user once need about rate x duration). */
export const USERS = Number(__ENV.USERS ?? 500)
/** Prefix of the user ids, so that two runs never share users. */
export const RUN = __ENV.RUN_ID ?? `k6-${Date.now().toString(36)}`
export const PRICE = 1000

/**
 * Thresholds from TARGETS.md: p99 <= 25 ms for reads and <= 50 ms for writes, p95 at half of that, under
 * 1% failed requests. Only requests tagged phase=load count (see params()), not those of setup().
 */
export function options(kind: 'read' | 'write', extra: Partial<Options> = {}): Options {
  const p99 = kind === 'read' ? 25 : 50
  return {
    scenarios: { load: { executor: 'constant-vus', vus: VUS, duration: DURATION } },
    setupTimeout: __ENV.SETUP_TIMEOUT ?? '10m',
    thresholds: {
      'http_req_duration{phase:load}': [`p(95)<${p99 / 2}`, `p(99)<${p99}`],
      'http_req_failed{phase:load}': ['rate<0.01'],
      checks: ['rate>0.99'],
    },
    ...extra,
  }
}

export interface User {
  userId: string
  token: string
  queueToken?: string
}

export function headers(user: User, extra: Record<string, string> = {}): Record<string, string> {
  const h: Record<string, string> = { 'content-type': 'application/json', authorization: `Bearer ${user.token}`, ...extra }
  if (user.queueToken) h['x-queue-token'] = user.queueToken
  return h
}

function expect<RT extends ResponseType | undefined>(response: RefinedResponse<RT>, status: number[], what: string) {
  if (!status.includes(response.status)) fail(`${what}: ${response.status} ${String(response.body).slice(0, 200)}`)
  return response
}

export function createConcert(seatCounts: number[]): { concertId: string; scheduleIds: string[] } {
  if (!ADMIN_API_KEY) fail('set ADMIN_API_KEY (the instance must have the admin API enabled)')
  const body = {
    title: `k6 ${RUN}`,
    schedules: seatCounts.map((seatCount, i) => ({
      startsAt: new Date(Date.UTC(2027, 0, 1 + i, 19)).toISOString(),
      seatCount,
      price: PRICE,
    })),
  }
  const response = expect(
    http.post(`${BASE_URL}/v1/admin/concerts`, JSON.stringify(body), {
      headers: { 'content-type': 'application/json', 'x-admin-key': ADMIN_API_KEY },
    }),
    [201],
    'create concert',
  )
  const created = response.json() as { concertId: string; schedules: { scheduleId: string }[] }
  return { concertId: created.concertId, scheduleIds: created.schedules.map((s) => s.scheduleId) }
}

/** Runs one request per item in batches of `size` (http.batch), checking each status. */
function batched<T>(items: T[], status: number[], what: string, request: (item: T) => [string, string, string | null, Record<string, string>]) {
  const out: RefinedResponse<'text'>[] = []
  for (let i = 0; i < items.length; i += 64) {
    const chunk = items.slice(i, i + 64).map((item) => {
      const [method, url, body, h] = request(item)
      return { method, url, body, params: { headers: h } }
    })
    for (const response of http.batch(chunk)) out.push(expect(response as RefinedResponse<'text'>, status, what))
  }
  return out
}

/** Users with dev tokens; optionally charged and joined to a concert, then polled until ACTIVE. */
export function makeUsers(prefix: string, count: number, o: { balance?: number; join?: string; admit?: boolean } = {}): User[] {
  const ids = Array.from({ length: count }, (_, i) => `${RUN}-${prefix}-${i}`)
  const tokens = batched(ids, [201], 'dev token', (userId) => [
    'POST',
    `${BASE_URL}/v1/dev/user-tokens`,
    JSON.stringify({ userId }),
    { 'content-type': 'application/json' },
  ])
  const users: User[] = ids.map((userId, i) => ({ userId, token: (tokens[i]!.json() as { token: string }).token }))
  if (o.balance) {
    batched(users, [201], 'charge', (u) => ['POST', `${BASE_URL}/v1/balance/charges`, JSON.stringify({ amount: o.balance }), headers(u)])
  }
  if (o.join) {
    const joined = batched(users, [200, 201], 'join', (u) => ['POST', `${BASE_URL}/v1/queue/tokens`, JSON.stringify({ concertId: o.join }), headers(u)])
    joined.forEach((r, i) => (users[i]!.queueToken = (r.json() as { token: string }).token))
    if (o.admit) untilActive(users)
  }
  return users
}

/** Polls until every user is ACTIVE (the instance needs QUEUE_ADMIT_PER_SECOND / QUEUE_MAX_ACTIVE to allow it). */
export function untilActive(users: User[], timeoutSeconds = Number(__ENV.ADMIT_TIMEOUT ?? 300)) {
  let waiting = users
  for (let waited = 0; waiting.length > 0; waited++) {
    if (waited > timeoutSeconds) fail(`${waiting.length} users not admitted within ${timeoutSeconds} s`)
    const states = batched(waiting, [200], 'status', (u) => ['GET', `${BASE_URL}/v1/queue/status`, null, headers(u)])
    waiting = waiting.filter((_, i) => (states[i]!.json() as { status: string }).status !== 'ACTIVE')
    if (waiting.length > 0) sleep(1)
  }
}

/** A number unique to this iteration across all VUs: 0, 1, 2, ... (for users and seats used once). */
export function iteration(): number {
  return __ITER * VUS + (__VU - 1)
}

/** The n-th of `count` seats in a scattered order, each once while n < count (7919 is prime to 10^k). */
export function scatteredSeat(n: number, count: number): number {
  return ((n * 7919) % count) + 1
}

export function params(user: User, extra: Record<string, string> = {}) {
  return { headers: headers(user, extra), tags: { phase: 'load' } }
}
