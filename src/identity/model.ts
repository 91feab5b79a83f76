import { Type } from '@sinclair/typebox'
import { EXPECTED } from '../http/validation-detail'
import { USER_ID_RULE } from './user-tokens'

// Dev tokens' models (the rest of identity is headers, not bodies).

export const DevTokenRequest = Type.Object(
  {
    userId: Type.String({
      minLength: 1,
      maxLength: 256, // UTF-16 units; the limit of 128 characters (code points) is counted by isUserId
      description: 'Any user id of 1-128 characters (no control characters); it becomes the token subject',
      [EXPECTED]: USER_ID_RULE,
    }),
  },
  { additionalProperties: false },
)

export const DevToken = Type.Object({ token: Type.String({ description: 'HS256 JWT valid for 24 hours' }) }, { title: 'DevToken' })
