// Copied next to the generated `api.d.ts` by openapi-client.test.ts, type-checked with tsc, then run:
// the whole booking path through a client generated from /swagger/json, as an SDK user would write it.
import createClient from 'openapi-fetch'
import type { components, paths } from './api'

// Type-level assertions: this file does not compile unless the generated types say exactly this.
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false
type QueueStatus = components['schemas']['QueueStatus']
type HoldResponses = paths['/v1/reservations']['post']['responses']
type HoldConflictCode = HoldResponses[409]['content']['application/problem+json']['code']
export const nullablesAreNullable: [Equal<QueueStatus['position'], number | null>, Equal<QueueStatus['activeUntil'], string | null>] = [true, true]
export const statusIsALiteralUnion: Equal<QueueStatus['status'], 'WAITING' | 'ACTIVE' | 'EXPIRED' | 'DONE' | 'SOLD_OUT'> = true
export const codesAreThisOperations: Equal<HoldConflictCode, 'SEAT_UNAVAILABLE' | 'HOLD_LIMIT_REACHED'> = true
// @ts-expect-error a typo of a status does not compile
export const typo: QueueStatus['status'] = 'ACTIVEE'
// @ts-expect-error holding a seat never answers 418
export type NoSuchStatus = HoldResponses[418]
// @ts-expect-error ALREADY_PAID is a payment's conflict, not a hold's
export const notAHoldCode: HoldConflictCode = 'ALREADY_PAID'

export async function bookThroughGeneratedClient(baseUrl: string, adminKey: string) {
  const client = createClient<paths>({ baseUrl })

  const created = await client.POST('/v1/admin/concerts', {
    headers: { 'X-Admin-Key': adminKey },
    body: { title: 'SDK concert', schedules: [{ startsAt: '2027-05-01T19:00:00Z', seatCount: 3, price: 2500 }] },
  })
  if (!created.data) throw new Error(`create concert: ${JSON.stringify(created.error)}`)
  const concertId: string = created.data.concertId

  const issued = await client.POST('/v1/dev/user-tokens', { body: { userId: 'sdk-user' } })
  if (!issued.data) throw new Error('dev token')
  const auth = { Authorization: `Bearer ${issued.data.token}` }

  const charged = await client.POST('/v1/balance/charges', { headers: { ...auth, 'Idempotency-Key': 'sdk-charge' }, body: { amount: 10_000 } })
  if (!charged.data) throw new Error('charge')

  const joined = await client.POST('/v1/queue/tokens', { headers: auth, body: { concertId } })
  if (!joined.data) throw new Error(`join: ${JSON.stringify(joined.error)}`)
  const queue = { ...auth, 'X-Queue-Token': joined.data.token }

  let status: string = joined.data.status
  for (let polls = 0; status !== 'ACTIVE' && polls < 20; polls++) {
    const polled = await client.GET('/v1/queue/status', { headers: queue })
    if (!polled.data) throw new Error('poll')
    status = polled.data.status
    if (status !== 'ACTIVE') await new Promise((r) => setTimeout(r, Math.min(polled.data.pollAfterMs, 500)))
  }
  if (status !== 'ACTIVE') throw new Error('never admitted')

  const schedules = await client.GET('/v1/concerts/{concertId}/schedules', { params: { path: { concertId }, query: { available: true } }, headers: queue })
  if (!schedules.data?.[0]) throw new Error('schedules')
  const scheduleId: string = schedules.data[0].scheduleId

  const seats = await client.GET('/v1/schedules/{scheduleId}/seats', { params: { path: { scheduleId } }, headers: queue })
  const free = seats.data?.find((s) => s.status === 'AVAILABLE')
  if (!free) throw new Error('no free seat')

  const held = await client.POST('/v1/reservations', { headers: queue, body: { scheduleId, seatNumber: free.number } })
  if (!held.data) throw new Error(`hold: ${JSON.stringify(held.error)}`)

  const taken = await client.POST('/v1/reservations', { headers: queue, body: { scheduleId, seatNumber: free.number } })
  const conflict: string | undefined = taken.error?.code

  const paid = await client.POST('/v1/payments', { headers: { ...queue, 'Idempotency-Key': 'sdk-pay' }, body: { reservationId: held.data.reservationId } })
  if (!paid.data) throw new Error(`pay: ${JSON.stringify(paid.error)}`)

  const balance = await client.GET('/v1/balance', { headers: auth })
  const after = await client.GET('/v1/queue/status', { headers: queue })
  return {
    paidStatus: paid.data.status,
    amount: paid.data.amount,
    balance: balance.data?.balance,
    conflict,
    queueStatus: after.data?.status,
  }
}
