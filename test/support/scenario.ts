import { expect } from 'bun:test'
import type { Server } from '../../src/server'
import { ADMIN_KEY, call } from './app'

// The steps every booking test needs, each one the way a client would do it.

export interface ConcertShape {
  seats?: number
  price?: number
  schedules?: number
  title?: string
}

/** The body of POST /v1/admin/concerts: `schedules` dates on consecutive days, each of `seats` seats. */
export function newConcert({ seats = 10, price = 1000, schedules = 1, title = 'Test concert' }: ConcertShape = {}) {
  return {
    title,
    schedules: Array.from({ length: schedules }, (_, i) => ({
      startsAt: new Date(Date.UTC(2027, 0, 1 + i, 19)).toISOString(),
      seatCount: seats,
      price,
    })),
  }
}

export async function createConcert(server: Server, shape: ConcertShape = {}): Promise<{ concertId: string; scheduleIds: string[] }> {
  const reply = await call(server, '/v1/admin/concerts', { headers: { 'x-admin-key': ADMIN_KEY }, body: newConcert(shape) })
  expect(reply.status).toBe(201)
  return { concertId: reply.body.concertId, scheduleIds: reply.body.schedules.map((s: { scheduleId: string }) => s.scheduleId) }
}

export function userToken(server: Server, userId: string): Promise<string> {
  return server.tokens.issue(userId)
}

export async function charge(server: Server, token: string, amount: number): Promise<number> {
  const reply = await call(server, '/v1/balance/charges', { token, body: { amount } })
  expect(reply.status).toBe(201)
  return reply.body.balance
}

export async function join(server: Server, token: string, concertId: string) {
  const reply = await call(server, '/v1/queue/tokens', { token, body: { concertId } })
  expect([200, 201]).toContain(reply.status)
  return reply.body as { token: string; status: string; position: number | null }
}

/** Joins the line and runs admission ticks until the user is ACTIVE; returns the queue token. */
export async function admit(server: Server, token: string, concertId: string): Promise<string> {
  const joined = await join(server, token, concertId)
  for (let i = 0; i < 20; i++) {
    const status = await call(server, '/v1/queue/status', { token, queueToken: joined.token })
    if (status.body.status === 'ACTIVE') return joined.token
    await server.admission.tick()
  }
  throw new Error('user was not admitted after 20 ticks')
}

/** A user with a balance and an ACTIVE queue token for the concert. */
export async function shopper(server: Server, userId: string, concertId: string, balance = 0) {
  const token = await userToken(server, userId)
  if (balance > 0) await charge(server, token, balance)
  const queueToken = await admit(server, token, concertId)
  return { userId, token, queueToken }
}

export async function hold(server: Server, s: { token: string; queueToken: string }, scheduleId: string, seatNumber: number) {
  return call(server, '/v1/reservations', { token: s.token, queueToken: s.queueToken, body: { scheduleId, seatNumber } })
}

export async function pay(server: Server, s: { token: string; queueToken: string }, reservationId: string, key?: string) {
  return call(server, '/v1/payments', {
    token: s.token,
    queueToken: s.queueToken,
    body: { reservationId },
    headers: key ? { 'idempotency-key': key } : {},
  })
}
