import { Elysia } from 'elysia'
import type { UserTokens } from './user-tokens'

// `{ auth: true }` on a route resolves `userId` from the verified bearer token, or answers 401.
// The user id always comes from the token, never from a body or a path. The token is checked in the
// transform phase, before the body is validated, so a stranger learns nothing about the request shape.
export function identity(tokens: UserTokens) {
  const verified = new WeakMap<Request, string>()
  return new Elysia({ name: 'identity' }).macro({
    auth: {
      async transform({ request }) {
        verified.set(request, await tokens.verify(request.headers.get('authorization')))
      },
      resolve({ request }) {
        return { userId: verified.get(request)! }
      },
    },
  })
}
