// hold: ACTIVE users hold distinct seats in a scattered order (POST /v1/reservations), each user up to
// MAX_HOLDS (4, the service's default MAX_HOLDS_PER_USER). USERS x MAX_HOLDS holds at most.
import http from 'k6/http'
import { check } from 'k6'
import exec from 'k6/execution'
import { BASE_URL, createConcert, iteration, makeUsers, options as thresholds, params, scatteredSeat, USERS, type User } from './lib.ts'

const SEATS = 100_000
const MAX_HOLDS = Number(__ENV.MAX_HOLDS ?? 4)
export const options = thresholds('write')

export function setup() {
  const { concertId, scheduleIds } = createConcert([SEATS])
  return { scheduleId: scheduleIds[0]!, users: makeUsers('holder', USERS, { join: concertId, admit: true }) }
}

export default function (data: { scheduleId: string; users: User[] }) {
  const n = iteration()
  const user = data.users[Math.floor(n / MAX_HOLDS)]
  if (!user || n >= SEATS) return exec.test.abort('every prepared user holds MAX_HOLDS seats: raise USERS')
  const body = JSON.stringify({ scheduleId: data.scheduleId, seatNumber: scatteredSeat(n, SEATS) })
  const response = http.post(`${BASE_URL}/v1/reservations`, body, params(user))
  check(response, { 'held (201)': (r) => r.status === 201 })
}
