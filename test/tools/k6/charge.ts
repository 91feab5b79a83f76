// charge: users add 1 won to their balance (POST /v1/balance/charges), one user per VU at a time.
import http from 'k6/http'
import { check } from 'k6'
import { BASE_URL, makeUsers, options as thresholds, params, USERS, type User } from './lib.ts'

export const options = thresholds('write')

export function setup() {
  return { users: makeUsers('charger', USERS) }
}

export default function (data: { users: User[] }) {
  const user = data.users[(__VU - 1 + __ITER * 7) % data.users.length]!
  const response = http.post(`${BASE_URL}/v1/balance/charges`, JSON.stringify({ amount: 1 }), params(user))
  check(response, { 'charged (201)': (r) => r.status === 201 })
}
