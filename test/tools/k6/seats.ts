// seats: ACTIVE users list every seat of one schedule (SEATS=50 or 10000).
// Needs an instance that admits them: QUEUE_MAX_ACTIVE and QUEUE_ADMIT_PER_SECOND >= USERS.
import http from 'k6/http'
import { check } from 'k6'
import { BASE_URL, createConcert, makeUsers, options as thresholds, params, USERS, type User } from './lib.ts'

const SEATS = Number(__ENV.SEATS ?? 50)
export const options = thresholds('read')

export function setup() {
  const { concertId, scheduleIds } = createConcert([SEATS])
  return { scheduleId: scheduleIds[0]!, users: makeUsers('reader', USERS, { join: concertId, admit: true }) }
}

export default function (data: { scheduleId: string; users: User[] }) {
  const user = data.users[Math.floor(Math.random() * data.users.length)]!
  const response = http.get(`${BASE_URL}/v1/schedules/${data.scheduleId}/seats`, params(user))
  check(response, { 'listed (200)': (r) => r.status === 200, 'every seat': (r) => (r.json() as unknown[]).length === SEATS })
}
