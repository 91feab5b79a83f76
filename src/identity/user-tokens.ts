import { timingSafeEqual } from 'node:crypto'
import { SignJWT } from 'jose'
import { ServiceError } from '../errors'
import { hmacSha256 } from '../hmac'
import { shapeRefusal } from '../http/json-body'
import { boundedMemo } from '../memo'

// User identity comes from a bearer JWT (HS256) issued upstream; `sub` is the user id.
// Verified tokens are remembered until they expire so that a busy user does not pay for the HMAC
// and the JSON parse on every request; the memo is bounded (src/memo.ts). 10,000 holds the users who
// call often (the ACTIVE ones, a line's capacity) and those of a modest line; with 50,000 (each memo), a
// crowd of 60,000 pollers cost the instance 216 MB of RSS against 144-148 with 10,000, for no CPU gain the
// bench could see (66-68 us a poll against 68-98: a token verified again costs ~6 us here, ~4 us a queue
// token; test/tools/bench/HISTORY.md, stop 36).
const CACHE_LIMIT = 10_000

export interface UserTokens {
  /** The user id of a verified bearer token; throws a 401 ServiceError. Synchronous: it runs on every request. */
  verify(authorization: string | null | undefined): string
  issue(userId: string, ttlSeconds?: number): Promise<string>
}

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/**
 * Unpadded base64url exactly as an encoder writes it: no length that leaves 6 spare bits (length % 4 == 1),
 * and the spare low bits of the last character zero. Checked on the characters, without decoding and
 * encoding again: every new user's first request pays this.
 */
function canonicalBase64url(part: string): boolean {
  if (!/^[A-Za-z0-9_-]+$/.test(part)) return false
  const rest = part.length % 4
  if (rest === 0) return true
  if (rest === 1) return false
  const last = BASE64URL.indexOf(part[part.length - 1]!)
  // 2 characters carry 1 byte (4 spare bits), 3 carry 2 bytes (2 spare bits).
  return (last & (rest === 2 ? 0b1111 : 0b11)) === 0
}

function canonicalCompact(token: string): boolean {
  const parts = token.split('.')
  return parts.length === 3 && parts.every(canonicalBase64url)
}

/** What a user id is, in the words of a refusal (isUserId). */
export const USER_ID_RULE = '1-128 characters of well-formed Unicode, no control characters'

// Fatal: bytes that are not UTF-8 would otherwise all decode to U+FFFD, and two different subjects to one.
const utf8 = new TextDecoder('utf-8', { fatal: true })

/**
 * A user id: 1-128 characters (code points) of well-formed Unicode with no control characters. A lone
 * UTF-16 surrogate would reach Postgres as U+FFFD and share an account with the subject that has U+FFFD
 * there; a NUL cannot be stored at all.
 */
export function isUserId(value: unknown): value is string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 256) return false
  if (!value.isWellFormed() || /\p{Cc}/u.test(value)) return false
  let codePoints = 0
  for (const _ of value) codePoints++
  return codePoints <= 128
}

/**
 * A header or claims set: a JSON object, refused as a request body would be if it names a member twice
 * (shapeRefusal): JSON.parse keeps the last `sub` of two, another reader of the token the first, and the
 * two would name different accounts (helper-59 was charged as the second).
 */
function json(part: string): Record<string, unknown> | null {
  try {
    const text = utf8.decode(Buffer.from(part, 'base64url'))
    const value = JSON.parse(text)
    if (shapeRefusal(text) !== null) return null
    return value && typeof value === 'object' && !Array.isArray(value) ? value : null
  } catch {
    return null
  }
}

/**
 * HS256 verification (RFC 7515/7519) with node:crypto: synchronous, about three times cheaper than
 * jose's WebCrypto path, and every new user's first request pays it. The header must say HS256 and
 * nothing critical; exp and nbf are honoured. Returns the claims, or null for any token that fails.
 * jose issues the tokens (dev tokens), so the two are checked against each other by the tests.
 */
// The last header found acceptable: an issuer writes the same header on every token, so each new user's
// first request skips decoding and parsing it.
let acceptedHeader = ''

function acceptableHeader(header: string): boolean {
  if (header === acceptedHeader) return true
  const protectedHeader = json(header)
  if (!protectedHeader || protectedHeader.alg !== 'HS256' || 'crit' in protectedHeader) return false
  acceptedHeader = header
  return true
}

function verifyHs256(token: string, mac: (message: string) => Buffer): Record<string, unknown> | null {
  const [header, payload, signature] = token.split('.') as [string, string, string]
  if (!acceptableHeader(header)) return null
  const expected = mac(`${header}.${payload}`)
  const given = Buffer.from(signature, 'base64url')
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null
  const claims = json(payload)
  if (!claims) return null
  const now = Date.now() / 1000
  if (claims.exp !== undefined && (typeof claims.exp !== 'number' || claims.exp <= now)) return null
  if (claims.nbf !== undefined && (typeof claims.nbf !== 'number' || claims.nbf > now)) return null
  return claims
}

export function userTokens(secret: string): UserTokens {
  const key = Buffer.from(secret)
  const mac = hmacSha256(key)
  const verified = boundedMemo<{ userId: string; expiresAtMs: number }>(CACHE_LIMIT)

  return {
    verify(authorization) {
      if (!authorization) throw new ServiceError('UNAUTHENTICATED', 'Send Authorization: Bearer <token>')
      const match = /^Bearer +(\S+)$/i.exec(authorization)
      if (!match) throw new ServiceError('UNAUTHENTICATED', 'The Authorization header must be "Bearer <token>"')
      const token = match[1]!
      const cached = verified.get(token)
      if (cached && cached.expiresAtMs > Date.now()) return cached.userId
      // JWT decoders are lenient (padding, spare bits of the last character): a token that is not
      // exactly the canonical encoding of its bytes is a tampered one, even if it decodes to a valid one.
      if (!canonicalCompact(token)) throw new ServiceError('UNAUTHENTICATED', 'The bearer token is invalid or expired')

      const claims = verifyHs256(token, mac)
      if (!claims) throw new ServiceError('UNAUTHENTICATED', 'The bearer token is invalid or expired')
      const sub = claims.sub
      const exp = claims.exp as number | undefined
      if (!isUserId(sub)) {
        throw new ServiceError('UNAUTHENTICATED', 'The bearer token has no valid subject')
      }
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
