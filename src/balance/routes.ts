import { Elysia, t } from 'elysia'
import { bearer, errors } from '../http/schemas'
import { identity, type Users } from '../identity/plugin'
import { MAX_PAGE, nextLink } from '../http/pages'
import { checkKey, respond } from '../idempotency/idempotency'
import type { Balance } from './balance'
import { BalanceBody, Charge, chargeRequestModel, LedgerPage } from './model'
import { jsonBody } from '../http/json-body'

export function balanceRoutes(balance: Balance, users: Users, maxCharge: number) {
  return new Elysia({ prefix: '/v1/balance' })
    .use(identity(users))
    .get('', async ({ userId }) => ({ balance: await balance.get(userId) }), {
      auth: true,
      response: { 200: BalanceBody, ...errors('UNAUTHENTICATED') },
      detail: { operationId: 'getBalance', tags: ['balance'], summary: 'Your prepaid balance (0 if never charged)', security: bearer },
    })
    .post(
      '/charges',
      async ({ userId, body, request, set }) =>
        respond(await balance.chargeOnce(userId, body.amount, checkKey(request.headers.get('idempotency-key'))), set),
      {
        auth: true,
        parse: jsonBody,
        body: chargeRequestModel(maxCharge),
        response: { 201: Charge, ...errors('UNAUTHENTICATED', 'BALANCE_LIMIT', 'IDEMPOTENCY_IN_PROGRESS', 'IDEMPOTENCY_KEY_REUSED') },
        detail: {
          operationId: 'chargeBalance',
          tags: ['balance'],
          summary: `Add 1..${maxCharge} won to your balance (honours Idempotency-Key)`,
          security: bearer,
          parameters: [{ in: 'header', name: 'Idempotency-Key', required: false, schema: { type: 'string', minLength: 1, maxLength: 255 } }],
        },
      },
    )
    .get('/history', async ({ userId, query, request, set }) => {
      const page = await balance.history(userId, query.limit ?? 20, query.cursor)
      if (page.nextCursor) set.headers.link = nextLink(request, page.nextCursor)
      return page
    }, {
      auth: true,
      query: t.Object(
        {
          limit: t.Optional(t.Integer({ minimum: 1, maximum: MAX_PAGE })),
          cursor: t.Optional(t.String({ minLength: 1, maxLength: 64, description: 'nextCursor of the previous page' })),
        },
        { additionalProperties: false },
      ),
      response: {
        200: LedgerPage,
        ...errors('UNAUTHENTICATED'),
      },
      detail: { operationId: 'getBalanceHistory', tags: ['balance'], summary: 'Every charge and payment, newest first', security: bearer },
    })
}
