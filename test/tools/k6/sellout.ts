// sellout: USERS buyers join one concert of SEATS seats at the same moment; the instance admits them at
// its configured rate (ADMIT_RATE, QUEUE_ADMIT_PER_SECOND on the server, default 50); each admitted buyer
// lists the free seats, holds one (another on 409) and pays. Buyers obey pollAfterMs.
// Threshold: the last purchase within 1.2 x SEATS / ADMIT_RATE of the start.
import http from 'k6/http'
import { check, sleep } from 'k6'
import { Counter, Trend } from 'k6/metrics'
import { BASE_URL, createConcert, makeUsers, params, PRICE, type User } from './lib.ts'

const SEATS = Number(__ENV.SEATS ?? 200)
const BUYERS = Number(__ENV.USERS ?? SEATS * 2)
const ADMIT_RATE = Number(__ENV.ADMIT_RATE ?? 50)
const boundMs = (SEATS / ADMIT_RATE) * 1000

const purchasedAfter = new Trend('purchase_after_ms', true)
const bought = new Counter('seats_bought')
http.setResponseCallback(http.expectedStatuses({ min: 200, max: 299 }, 403, 409))

export const options = {
  scenarios: { buyers: { executor: 'per-vu-iterations', vus: BUYERS, iterations: 1, maxDuration: `${Math.ceil((boundMs * 5) / 1000) + 60}s` } },
  setupTimeout: '10m',
  thresholds: {
    purchase_after_ms: [`max<${Math.round(boundMs * 1.2)}`],
    seats_bought: [`count==${SEATS}`],
    'http_req_failed{phase:load}': ['rate<0.01'],
  },
}

export function setup() {
  const { concertId, scheduleIds } = createConcert([SEATS])
  // Everyone starts together a few seconds after setup, whatever order the VUs start in.
  return { concertId, scheduleId: scheduleIds[0]!, users: makeUsers('buyer', BUYERS, { balance: PRICE }), startAt: Date.now() + 5000 }
}

export default function (data: { concertId: string; scheduleId: string; users: User[]; startAt: number }) {
  const user = { ...data.users[__VU - 1]! }
  sleep(Math.max(0, data.startAt - Date.now()) / 1000)
  const joined = http.post(`${BASE_URL}/v1/queue/tokens`, JSON.stringify({ concertId: data.concertId }), params(user))
  if (joined.status !== 201) return // 409 SOLD_OUT: the sale ended before this buyer came
  let status = joined.json() as { token: string; status: string; pollAfterMs: number }
  user.queueToken = status.token
  while (status.status === 'WAITING') {
    sleep(status.pollAfterMs / 1000)
    status = http.get(`${BASE_URL}/v1/queue/status`, params(user)).json() as typeof status
  }
  if (status.status !== 'ACTIVE') return
  for (let look = 0; look < 50; look++) {
    const listing = http.get(`${BASE_URL}/v1/schedules/${data.scheduleId}/seats?available=true`, params(user))
    if (listing.status !== 200) return // 403: sold out meanwhile
    const free = (listing.json() as { number: number }[]).map((s) => s.number)
    while (free.length > 0) {
      const [seatNumber] = free.splice(Math.floor(Math.random() * free.length), 1)
      const held = http.post(`${BASE_URL}/v1/reservations`, JSON.stringify({ scheduleId: data.scheduleId, seatNumber }), params(user))
      if (held.status === 403) return
      if (held.status !== 201) continue
      const paid = http.post(`${BASE_URL}/v1/payments`, JSON.stringify({ reservationId: (held.json() as { reservationId: string }).reservationId }), params(user))
      if (check(paid, { 'paid (201)': (r) => r.status === 201 })) {
        bought.add(1)
        purchasedAfter.add(Date.now() - data.startAt)
      }
      return
    }
    sleep(0.2) // every free seat is held by someone paying; one may come free again
  }
}
