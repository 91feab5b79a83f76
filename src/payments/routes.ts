import { Elysia } from 'elysia'
import { Type } from '@sinclair/typebox'
import type { Sql } from '../db/client'
import { bearerAndQueue, errors, Uuid } from '../http/schemas'
import { identity, type Users } from '../identity/plugin'
import { checkKey, fingerprint, idempotently, respond } from '../idempotency/idempotency'
import type { Ticket } from '../waiting-room/store'
import type { WaitingRoom } from '../waiting-room/waiting-room'
import type { Metrics } from '../metrics/metrics'
import { paidSession, pay, type Payment as PaymentBody } from './payments'

const Payment = Type.Object(
  {
    paymentId: Uuid(),
    reservationId: Uuid(),
    amount: Type.Integer({ description: 'won debited' }),
    balance: Type.Integer({ description: 'balance after the payment, won' }),
    status: Type.Literal('PAID'),
  },
  { title: 'Payment' },
)

const validTicket = (verify: () => Ticket) => {
  try {
    return verify()
  } catch {
    return null // a replay answers whatever token came with it
  }
}

export function paymentRoutes(sql: Sql, room: WaitingRoom, users: Users, metrics: Metrics) {
  return new Elysia({ prefix: '/v1' }).use(identity(users)).post(
    '/payments',
    async ({ userId, body, request, set }) => {
      const token = request.headers.get('x-queue-token')
      let ticket: Ticket | undefined
      let otherLiveHolds = 0
      const outcome = await idempotently(
        sql,
        { userId, key: checkKey(request.headers.get('idempotency-key')), fingerprint: fingerprint('payment', body) },
        async () => {
          ticket = await room.requireActiveForPayment(userId, token)
        },
        async (db) => {
          const paid = await pay(db, userId, body.reservationId, ticket!.concertId)
          otherLiveHolds = paid.otherLiveHolds
          return { status: 201, body: paid.payment }
        },
      )
      if (outcome.status === 201 && !outcome.replayed) {
        metrics.payments.inc()
        metrics.paymentsWon.inc((outcome.body as PaymentBody).amount)
        await room.paid(ticket!, otherLiveHolds)
      } else if (outcome.status === 201) {
        // A retry after a crash between the commit and the end of the session: end it now.
        const replayedFor = validTicket(() => room.ticket(userId, token))
        const session = replayedFor && (await paidSession(sql, userId, body.reservationId))
        if (replayedFor && session?.concertId === replayedFor.concertId) await room.paid(replayedFor, session.otherLiveHolds)
      }
      return respond(outcome, set)
    },
    {
      auth: true,
      parse: 'json',
      body: Type.Object({ reservationId: Uuid() }, { additionalProperties: false }),
      response: {
        201: Payment,
        ...errors(
          'UNAUTHENTICATED',
          'INSUFFICIENT_BALANCE',
          'QUEUE_NOT_ACTIVE',
          'NOT_FOUND',
          'HOLD_EXPIRED',
          'IDEMPOTENCY_KEY_REUSED',
        ),
      },
      detail: {
        operationId: 'payReservation',
        tags: ['payments'],
        summary: 'Pay a held seat from your balance, exactly once; ends your queue session (honours Idempotency-Key)',
        security: bearerAndQueue,
        parameters: [{ in: 'header', name: 'Idempotency-Key', required: false, schema: { type: 'string', minLength: 1, maxLength: 255 } }],
      },
    },
  )
}
