import { Elysia, t } from 'elysia'
import { Type } from '@sinclair/typebox'
import type { Sql } from '../db/client'
import { bearer, errors, Uuid } from '../http/schemas'
import { identity, type Users } from '../identity/plugin'
import { checkKey, fingerprint, idempotently, respond } from '../idempotency/idempotency'
import type { Balance } from './balance'

const Money = (description: string) => Type.Integer({ description })

const Charge = Type.Object(
  { chargeId: Uuid(), amount: Money('won added'), balance: Money('balance after the charge, won') },
  { title: 'Charge' },
)
const LedgerEntry = Type.Object(
  {
    entryId: Uuid(),
    type: Type.Union([Type.Literal('CHARGE'), Type.Literal('PAYMENT')]),
    amount: Money('signed: positive for charges, negative for payments'),
    balanceAfter: Money('balance after this entry'),
    reservationId: Type.Union([Uuid(), Type.Null()]),
    paymentId: Type.Union([Uuid(), Type.Null()]),
    createdAt: Type.String({ format: 'date-time' }),
  },
  { title: 'LedgerEntry' },
)

export function balanceRoutes(sql: Sql, balance: Balance, users: Users, maxCharge: number) {
  return new Elysia({ prefix: '/v1/balance' })
    .use(identity(users))
    .get('', async ({ userId }) => ({ balance: await balance.get(userId) }), {
      auth: true,
      response: { 200: Type.Object({ balance: Money('won') }, { title: 'Balance' }), ...errors('UNAUTHENTICATED') },
      detail: { operationId: 'getBalance', tags: ['balance'], summary: 'Your prepaid balance (0 if never charged)', security: bearer },
    })
    .post(
      '/charges',
      async ({ userId, body, request, set }) => {
        const outcome = await idempotently(
          sql,
          { userId, key: checkKey(request.headers.get('idempotency-key')), fingerprint: fingerprint('charge', body) },
          async () => {},
          async (db) => ({ status: 201, body: await balance.charge(db, userId, body.amount) }),
        )
        return respond(outcome, set)
      },
      {
        auth: true,
        parse: 'json',
        body: Type.Object({ amount: Type.Integer({ minimum: 1, maximum: maxCharge, description: 'won' }) }, { additionalProperties: false }),
        response: { 201: Charge, ...errors('UNAUTHENTICATED', 'BALANCE_LIMIT', 'IDEMPOTENCY_IN_PROGRESS') },
        detail: {
          operationId: 'chargeBalance',
          tags: ['balance'],
          summary: `Add 1..${maxCharge} won to your balance (honours Idempotency-Key)`,
          security: bearer,
          parameters: [{ in: 'header', name: 'Idempotency-Key', required: false, schema: { type: 'string', minLength: 1, maxLength: 255 } }],
        },
      },
    )
    .get('/history', ({ userId, query }) => balance.history(userId, query.limit ?? 20, query.cursor), {
      auth: true,
      query: t.Object(
        {
          limit: t.Optional(t.Integer({ minimum: 1, maximum: 100 })),
          cursor: t.Optional(t.String({ minLength: 1, maxLength: 64, description: 'nextCursor of the previous page' })),
        },
        { additionalProperties: false },
      ),
      response: {
        200: Type.Object({ entries: Type.Array(LedgerEntry), nextCursor: Type.Union([Type.String(), Type.Null()]) }, { title: 'LedgerPage' }),
        ...errors('UNAUTHENTICATED'),
      },
      detail: { operationId: 'getBalanceHistory', tags: ['balance'], summary: 'Every charge and payment, newest first', security: bearer },
    })
}
