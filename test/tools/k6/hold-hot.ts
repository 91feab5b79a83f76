// hold-hot: every VU tries to hold the same seat. Exactly one 201; all the others 409 SEAT_UNAVAILABLE.
import http from 'k6/http'
import { check } from 'k6'
import { Counter } from 'k6/metrics'
import { BASE_URL, createConcert, makeUsers, options as thresholds, params, USERS, type User } from './lib.ts'

const held = new Counter('hot_seat_held')
// 409 is the expected answer here, not a failed request.
http.setResponseCallback(http.expectedStatuses(201, 409))
export const options = thresholds('write', {})
options.thresholds!.hot_seat_held = ['count==1']

export function setup() {
  const { concertId, scheduleIds } = createConcert([50])
  return { scheduleId: scheduleIds[0]!, users: makeUsers('hot', USERS, { join: concertId, admit: true }) }
}

export default function (data: { scheduleId: string; users: User[] }) {
  const user = data.users[Math.floor(Math.random() * data.users.length)]!
  const response = http.post(`${BASE_URL}/v1/reservations`, JSON.stringify({ scheduleId: data.scheduleId, seatNumber: 1 }), params(user))
  if (response.status === 201) held.add(1)
  check(response, {
    '201 or 409 SEAT_UNAVAILABLE': (r) => r.status === 201 || (r.status === 409 && String(r.body).includes('SEAT_UNAVAILABLE')),
  })
}
