// seats: ACTIVE users read the seat map of one schedule (SEATS=50, 10000 or 100000).
// MAP=full (default): GET .../seats; MAP=compact: GET .../seat-map; MAP=304: GET .../seats with the map's
// ETag in If-None-Match (a client that has it already: 304, no body). COMPRESSED=1 sends
// Accept-Encoding: br, gzip (the bench's seats-100000, seat-map-100000 and seats-100000-304 do).
// Needs an instance that admits them: QUEUE_MAX_ACTIVE and QUEUE_ADMIT_PER_SECOND >= USERS.
import http from 'k6/http'
import { check } from 'k6'
import { BASE_URL, createConcert, makeUsers, options as thresholds, params, USERS, type User } from './lib.ts'

const SEATS = Number(__ENV.SEATS ?? 50)
const MAP = (__ENV.MAP ?? 'full') as 'full' | 'compact' | '304'
const COMPRESSED = __ENV.COMPRESSED === '1'
export const options = thresholds('read')

const encoding: Record<string, string> = COMPRESSED ? { 'Accept-Encoding': 'br, gzip' } : {}
const path = (scheduleId: string) => `${BASE_URL}/v1/schedules/${scheduleId}/${MAP === 'compact' ? 'seat-map' : 'seats'}`

export function setup() {
  const { concertId, scheduleIds } = createConcert([SEATS])
  const users = makeUsers('reader', USERS, { join: concertId, admit: true })
  // The tag of the form the load is sent: each encoding has its own.
  const etag = MAP === '304' ? (http.get(path(scheduleIds[0]!), params(users[0]!, encoding)).headers['Etag'] ?? '') : ''
  return { scheduleId: scheduleIds[0]!, users, etag }
}

export default function (data: { scheduleId: string; users: User[]; etag: string }) {
  const user = data.users[Math.floor(Math.random() * data.users.length)]!
  const extra: Record<string, string> = {
    ...encoding,
    ...(MAP === '304' ? { 'If-None-Match': data.etag } : {}),
  }
  const response = http.get(path(data.scheduleId), params(user, extra))
  if (MAP === '304') check(response, { 'not modified (304)': (r) => r.status === 304 })
  else if (MAP === 'compact')
    check(response, { 'listed (200)': (r) => r.status === 200, 'every seat': (r) => (r.json() as { status: string }).status.length === SEATS })
  else check(response, { 'listed (200)': (r) => r.status === 200, 'every seat': (r) => (r.json() as unknown[]).length === SEATS })
}
