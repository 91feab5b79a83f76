import { Elysia } from 'elysia'
import { isUserId, USER_ID_RULE, type UserTokens } from './user-tokens'
import { ServiceError } from '../errors'
import { errors } from '../http/schemas'
import { DevToken, DevTokenRequest } from './model'
import { jsonBody } from '../http/json-body'

// Dev tokens: only when AUTH_DEV_TOKENS=true (embedded default, never in production). Real deployments
// verify tokens from their identity provider with the shared AUTH_JWT_SECRET.
export function devTokenRoutes(tokens: UserTokens) {
  return new Elysia({ prefix: '/v1/dev' }).post(
    '/user-tokens',
    async ({ body, set }) => {
      if (!isUserId(body.userId)) throw new ServiceError('VALIDATION_FAILED', `body.userId: Expected ${USER_ID_RULE}`)
      set.status = 201
      return { token: await tokens.issue(body.userId) }
    },
    {
      parse: jsonBody,
      body: DevTokenRequest,
      response: { 201: DevToken, ...errors() },
      detail: {
        operationId: 'createDevUserToken',
        tags: ['dev'],
        summary: 'Issue a user token for local use, demos and load scripts',
        security: [],
      },
    },
  )
}
