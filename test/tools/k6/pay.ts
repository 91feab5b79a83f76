// pay: every iteration a fresh ACTIVE user with a balance holds a seat and pays it (the payment ends the
// user's queue session, as for a real buyer). USERS should cover rate x DURATION.
import http from 'k6/http'
import { check } from 'k6'
import exec from 'k6/execution'
import { BASE_URL, createConcert, iteration, makeUsers, options as thresholds, params, PRICE, scatteredSeat, USERS, type User } from './lib.ts'

const SEATS = 100_000
export const options = thresholds('write')

export function setup() {
  const { concertId, scheduleIds } = createConcert([SEATS])
  return { scheduleId: scheduleIds[0]!, users: makeUsers('payer', USERS, { balance: PRICE, join: concertId, admit: true }) }
}

export default function (data: { scheduleId: string; users: User[] }) {
  const n = iteration()
  const user = data.users[n]
  if (!user) return exec.test.abort('every prepared user has paid: raise USERS')
  const held = http.post(`${BASE_URL}/v1/reservations`, JSON.stringify({ scheduleId: data.scheduleId, seatNumber: scatteredSeat(n, SEATS) }), params(user))
  if (!check(held, { 'held (201)': (r) => r.status === 201 })) return
  const { reservationId } = held.json() as { reservationId: string }
  const paid = http.post(`${BASE_URL}/v1/payments`, JSON.stringify({ reservationId }), params(user, { 'idempotency-key': `${user.userId}-pay` }))
  check(paid, { 'paid (201)': (r) => r.status === 201 })
}
