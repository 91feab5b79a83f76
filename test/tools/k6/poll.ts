// poll: users who wait in a long line ask for their status (GET /v1/queue/status), far more of them
// than the instance admits, so nearly every answer is WAITING with a position.
import http from 'k6/http'
import { check } from 'k6'
import { BASE_URL, createConcert, makeUsers, options as thresholds, params, USERS, type User } from './lib.ts'

export const options = thresholds('read')

export function setup() {
  const { concertId } = createConcert([1000])
  return { users: makeUsers('poller', USERS, { join: concertId }) }
}

export default function (data: { users: User[] }) {
  const user = data.users[Math.floor(Math.random() * data.users.length)]!
  const response = http.get(`${BASE_URL}/v1/queue/status`, params(user))
  check(response, { 'status (200)': (r) => r.status === 200 })
}
