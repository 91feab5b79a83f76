import { Elysia } from 'elysia'
import type { UserTokens } from './user-tokens'

// `{ auth: true }` on a route resolves `userId` from the verified bearer token, or answers 401.
// The user id always comes from the token, never from a body or a path.
export function identity(tokens: UserTokens) {
  return new Elysia({ name: 'identity' }).macro({
    auth: {
      async resolve({ request }) {
        return { userId: await tokens.verify(request.headers.get('authorization')) }
      },
    },
  })
}
