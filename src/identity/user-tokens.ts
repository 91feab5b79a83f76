import { SignJWT, jwtVerify } from 'jose'
import { Problem } from '../http/problems'

// User identity comes from a bearer JWT (HS256) issued upstream; `sub` is the user id.
// Verified tokens are remembered until they expire so that a busy user does not pay for the HMAC
// and the JSON parse on every request; the cache is bounded and simply cleared when full.
const CACHE_LIMIT = 50_000

export interface UserTokens {
  verify(authorization: string | null | undefined): Promise<string>
  issue(userId: string, ttlSeconds?: number): Promise<string>
}

function canonicalCompact(token: string): boolean {
  const parts = token.split('.')
  return parts.length === 3 && parts.every((part) => /^[A-Za-z0-9_-]+$/.test(part) && Buffer.from(part, 'base64url').toString('base64url') === part)
}

export function userTokens(secret: string): UserTokens {
  const key = new TextEncoder().encode(secret)
  const verified = new Map<string, { userId: string; expiresAtMs: number }>()

  return {
    async verify(authorization) {
      if (!authorization) throw new Problem('UNAUTHENTICATED', 'Send Authorization: Bearer <token>')
      const match = /^Bearer +(\S+)$/i.exec(authorization)
      if (!match) throw new Problem('UNAUTHENTICATED', 'The Authorization header must be "Bearer <token>"')
      const token = match[1]!
      const cached = verified.get(token)
      if (cached && cached.expiresAtMs > Date.now()) return cached.userId
      // JWT decoders are lenient (padding, spare bits of the last character): a token that is not
      // exactly the canonical encoding of its bytes is a tampered one, even if it decodes to a valid one.
      if (!canonicalCompact(token)) throw new Problem('UNAUTHENTICATED', 'The bearer token is invalid or expired')

      let sub: unknown
      let exp: number | undefined
      try {
        const { payload } = await jwtVerify(token, key, { algorithms: ['HS256'] })
        sub = payload.sub
        exp = payload.exp
      } catch {
        throw new Problem('UNAUTHENTICATED', 'The bearer token is invalid or expired')
      }
      if (typeof sub !== 'string' || sub.length < 1 || sub.length > 128) {
        throw new Problem('UNAUTHENTICATED', 'The bearer token has no valid subject')
      }
      if (verified.size >= CACHE_LIMIT) verified.clear()
      // A token without exp stays valid; re-verify it now and then anyway.
      verified.set(token, { userId: sub, expiresAtMs: exp ? exp * 1000 : Date.now() + 60_000 })
      return sub
    },

    async issue(userId, ttlSeconds = 24 * 3600) {
      return new SignJWT({})
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(userId)
        .setIssuedAt()
        .setExpirationTime(`${ttlSeconds}s`)
        .sign(key)
    },
  }
}
