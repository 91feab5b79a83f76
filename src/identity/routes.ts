import { Elysia } from 'elysia'
import { Type } from '@sinclair/typebox'
import { isUserId, type UserTokens } from './user-tokens'
import { Problem } from '../http/problems'
import { errors } from '../http/schemas'

// Dev tokens: only when AUTH_DEV_TOKENS=true (embedded default, never in production). Real deployments
// verify tokens from their identity provider with the shared AUTH_JWT_SECRET.
export function devTokenRoutes(tokens: UserTokens) {
  return new Elysia({ prefix: '/v1/dev' }).post(
    '/user-tokens',
    async ({ body, set }) => {
      if (!isUserId(body.userId)) throw new Problem('VALIDATION_FAILED', 'body.userId: 1-128 characters of well-formed Unicode, no control characters')
      set.status = 201
      return { token: await tokens.issue(body.userId) }
    },
    {
      parse: 'json',
      body: Type.Object(
        { userId: Type.String({ minLength: 1, maxLength: 128, description: 'Any user id; it becomes the token subject' }) },
        { additionalProperties: false },
      ),
      response: { 201: Type.Object({ token: Type.String({ description: 'HS256 JWT valid for 24 hours' }) }), ...errors() },
      detail: {
        operationId: 'createDevUserToken',
        tags: ['dev'],
        summary: 'Issue a user token for local use, demos and load scripts',
        security: [],
      },
    },
  )
}
