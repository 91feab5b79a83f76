// Copied next to the client that @hey-api/openapi-ts generated from /swagger/json (openapi-client.test.ts),
// type-checked with tsc --strict, then run: the booking path as a user of that SDK would write it.
import { createClient } from './hey/client'
import {
  chargeBalance,
  createConcert,
  createDevUserToken,
  getBalance,
  getQueueStatus,
  holdSeat,
  joinQueue,
  listSchedules,
  listSeats,
  payReservation,
} from './hey/sdk.gen'
import type { HoldSeatErrors, PayReservationErrors, QueueStatus } from './hey/types.gen'

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false
export const nullablesAreNullable: [Equal<QueueStatus['position'], number | null>, Equal<QueueStatus['estimatedWaitSeconds'], number | null>] = [true, true]
export const statusIsALiteralUnion: Equal<QueueStatus['status'], 'WAITING' | 'ACTIVE' | 'EXPIRED' | 'DONE' | 'SOLD_OUT'> = true
export const payConflicts: Equal<PayReservationErrors[409]['code'], 'ALREADY_PAID' | 'HOLD_EXPIRED' | 'IDEMPOTENCY_IN_PROGRESS'> = true
// @ts-expect-error a typo of a status does not compile
export const typo: QueueStatus['status'] = 'ACTIVEE'
// @ts-expect-error holding a seat never answers 402
export type NoSuchStatus = HoldSeatErrors[402]
// @ts-expect-error INSUFFICIENT_BALANCE is a payment's answer, not a hold's
export const notAHoldCode: HoldSeatErrors[409]['code'] = 'INSUFFICIENT_BALANCE'

export async function bookThroughHeyApiClient(baseUrl: string, adminKey: string) {
  const client = createClient({ baseUrl })

  const created = await createConcert({
    client,
    headers: { 'X-Admin-Key': adminKey },
    body: { title: 'hey-api concert', schedules: [{ startsAt: '2027-06-01T19:00:00Z', seatCount: 3, price: 2500 }] },
  })
  if (!created.data) throw new Error(`create concert: ${JSON.stringify(created.error)}`)
  const concertId: string = created.data.concertId

  const issued = await createDevUserToken({ client, body: { userId: 'hey-api-user' } })
  if (!issued.data) throw new Error('dev token')
  const auth = { Authorization: `Bearer ${issued.data.token}` }

  const charged = await chargeBalance({ client, headers: { ...auth, 'Idempotency-Key': 'hey-charge' }, body: { amount: 10_000 } })
  if (!charged.data) throw new Error('charge')

  const joined = await joinQueue({ client, headers: auth, body: { concertId } })
  if (!joined.data) throw new Error(`join: ${JSON.stringify(joined.error)}`)
  const queue = { ...auth, 'X-Queue-Token': joined.data.token }

  let status: QueueStatus['status'] = joined.data.status
  for (let polls = 0; status !== 'ACTIVE' && polls < 20; polls++) {
    const polled = await getQueueStatus({ client, headers: queue })
    if (!polled.data) throw new Error('poll')
    status = polled.data.status
    if (status !== 'ACTIVE') await new Promise((r) => setTimeout(r, Math.min(polled.data.pollAfterMs, 500)))
  }
  if (status !== 'ACTIVE') throw new Error('never admitted')

  const schedules = await listSchedules({ client, path: { concertId }, query: { available: true }, headers: queue })
  const scheduleId = schedules.data?.[0]?.scheduleId
  if (!scheduleId) throw new Error('schedules')

  const seats = await listSeats({ client, path: { scheduleId }, headers: queue })
  const free = seats.data?.find((s) => s.status === 'AVAILABLE')
  if (!free) throw new Error('no free seat')

  const held = await holdSeat({ client, headers: queue, body: { scheduleId, seatNumber: free.number } })
  if (!held.data) throw new Error(`hold: ${JSON.stringify(held.error)}`)
  const location = held.response?.headers.get('location')

  const taken = await holdSeat({ client, headers: queue, body: { scheduleId, seatNumber: free.number } })
  const conflict = taken.error?.code

  const paid = await payReservation({ client, headers: { ...queue, 'Idempotency-Key': 'hey-pay' }, body: { reservationId: held.data.reservationId } })
  if (!paid.data) throw new Error(`pay: ${JSON.stringify(paid.error)}`)

  const balance = await getBalance({ client, headers: auth })
  const after = await getQueueStatus({ client, headers: queue })
  return {
    paidStatus: paid.data.status,
    amount: paid.data.amount,
    balance: balance.data?.balance,
    conflict,
    location: location === `/v1/reservations/${held.data.reservationId}`,
    queueStatus: after.data?.status,
  }
}
