import { Type } from '@sinclair/typebox'

// Dev tokens' models (the rest of identity is headers, not bodies).

export const DevTokenRequest = Type.Object(
  {
    userId: Type.String({
      minLength: 1,
      maxLength: 256, // UTF-16 units; the limit of 128 characters (code points) is counted by isUserId
      description: 'Any user id of 1-128 characters (no control characters); it becomes the token subject',
    }),
  },
  { additionalProperties: false },
)

export const DevToken = Type.Object({ token: Type.String({ description: 'HS256 JWT valid for 24 hours' }) }, { title: 'DevToken' })
