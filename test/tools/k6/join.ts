// join: every iteration a new user joins the waiting room of one concert (POST /v1/queue/tokens).
// USERS should cover rate x DURATION; iterations beyond it stop.
import http from 'k6/http'
import { check } from 'k6'
import exec from 'k6/execution'
import { BASE_URL, createConcert, iteration, makeUsers, options as thresholds, params, USERS, type User } from './lib.ts'

export const options = thresholds('write')

export function setup() {
  const { concertId } = createConcert([1000])
  return { concertId, users: makeUsers('joiner', USERS) }
}

export default function (data: { concertId: string; users: User[] }) {
  const user = data.users[iteration()]
  if (!user) return exec.test.abort('every prepared user has joined: raise USERS')
  const response = http.post(`${BASE_URL}/v1/queue/tokens`, JSON.stringify({ concertId: data.concertId }), params(user))
  check(response, { 'joined (201)': (r) => r.status === 201 })
}
