import { Elysia } from 'elysia'
import { bearerAndQueue, errors } from '../http/schemas'
import { identity, type Users } from '../identity/plugin'
import { checkKey, respond } from '../idempotency/idempotency'
import { Payment, PaymentRequest } from './model'
import type { Payments } from './payments'
import { jsonBody } from '../http/json-body'

export function paymentRoutes(payments: Payments, users: Users) {
  return new Elysia({ prefix: '/v1' }).use(identity(users)).post(
    '/payments',
    async ({ userId, body, request, set }) => {
      const outcome = await payments.payOnce({
        userId,
        queueToken: request.headers.get('x-queue-token'),
        reservationId: body.reservationId,
        idempotencyKey: checkKey(request.headers.get('idempotency-key')),
      })
      return respond(outcome, set)
    },
    {
      auth: true,
      parse: jsonBody,
      body: PaymentRequest,
      response: {
        201: Payment,
        ...errors(
          'UNAUTHENTICATED',
          'INSUFFICIENT_BALANCE',
          'QUEUE_NOT_ACTIVE',
          'NOT_FOUND',
          'HOLD_EXPIRED',
          'IDEMPOTENCY_KEY_REUSED',
          'QUEUE_TOKEN_INVALID',
          'ALREADY_PAID',
          'IDEMPOTENCY_IN_PROGRESS',
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
