import { describe, expect, test } from 'bun:test'
import { createHmac } from 'node:crypto'
import { SignJWT } from 'jose'
import { ServiceError } from '../../src/errors'
import { userTokens } from '../../src/identity/user-tokens'

const secret = 'user-secret-0123456789abcdef'
const tokens = userTokens(secret)
const key = new TextEncoder().encode(secret)

function rejection(header: string | null): string {
  try {
    tokens.verify(header)
  } catch (error) {
    expect(error).toBeInstanceOf(ServiceError)
    return (error as ServiceError).code
  }
  throw new Error('accepted')
}

describe('user tokens', () => {
  test('the user id is the verified sub of an HS256 token', async () => {
    expect(tokens.verify(`Bearer ${await tokens.issue('alice')}`)).toBe('alice')
  })

  test('missing, malformed, expired, unsigned and foreign tokens are 401', async () => {
    const expired = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('a').setExpirationTime(Math.floor(Date.now() / 1000) - 10).sign(key)
    const foreign = await userTokens('another-secret-0123456789').issue('alice')
    const header = Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url')
    const body = Buffer.from(JSON.stringify({ sub: 'alice' })).toString('base64url')
    for (const bad of [null, '', 'Basic abc', 'Bearer', `Bearer ${expired}`, `Bearer ${foreign}`, `Bearer ${header}.${body}.`]) {
      expect(rejection(bad)).toBe('UNAUTHENTICATED')
    }
  })

  test('only HS256 with nothing critical, and not before nbf', async () => {
    const hs512 = await new SignJWT({}).setProtectedHeader({ alg: 'HS512' }).setSubject('alice').sign(key)
    const encode = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url')
    const unsigned = `${encode({ alg: 'HS256', crit: ['x'], x: 1 })}.${encode({ sub: 'alice' })}`
    const critical = `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`
    const early = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('alice').setNotBefore(Math.floor(Date.now() / 1000) + 60).sign(key)
    const noExp = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('alice').sign(key)
    expect(rejection(`Bearer ${hs512}`)).toBe('UNAUTHENTICATED')
    expect(rejection(`Bearer ${critical}`)).toBe('UNAUTHENTICATED')
    expect(rejection(`Bearer ${early}`)).toBe('UNAUTHENTICATED')
    expect(tokens.verify(`Bearer ${noExp}`)).toBe('alice')
  })

  test('a header or claims set that names a member twice is refused, signed or not (helper-59: the last sub was charged)', () => {
    const sign = (header: string, claims: string) => {
      const unsigned = `${Buffer.from(header).toString('base64url')}.${Buffer.from(claims).toString('base64url')}`
      return `Bearer ${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`
    }
    expect(tokens.verify(sign('{"alg":"HS256","typ":"JWT"}', '{"sub":"dup-once"}'))).toBe('dup-once')
    expect(rejection(sign('{"alg":"HS256","typ":"JWT"}', '{"sub":"dup-first","sub":"dup-second"}'))).toBe('UNAUTHENTICATED')
    expect(rejection(sign('{"alg":"HS256","typ":"JWT"}', '{"sub":"dup-first","s\\u0075b":"dup-second"}'))).toBe('UNAUTHENTICATED')
    expect(rejection(sign('{"alg":"none","alg":"HS256"}', '{"sub":"dup-header"}'))).toBe('UNAUTHENTICATED')
  })

  test('a subject outside 1..128 characters is refused', async () => {
    const long = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('x'.repeat(129)).sign(key)
    const none = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).sign(key)
    expect(rejection(`Bearer ${long}`)).toBe('UNAUTHENTICATED')
    expect(rejection(`Bearer ${none}`)).toBe('UNAUTHENTICATED')
  })

  test('only the canonical base64url spelling of each part is accepted, verified or not before', async () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    const token = await tokens.issue('carol')
    expect(tokens.verify(`Bearer ${token}`)).toBe('carol') // now remembered as verified
    const parts = token.split('.')
    let tried = 0
    for (let p = 0; p < 3; p++) {
      const part = parts[p]!
      const rest = part.length % 4
      if (rest === 0) continue // no spare bits: the only spelling
      const spare = rest === 2 ? 0b1111 : 0b11
      const last = alphabet.indexOf(part.at(-1)!)
      // Same bytes once decoded, spare bits set: a lenient decoder takes these as the same token.
      for (let bits = 1; bits <= spare; bits++) {
        const variant = parts.with(p, part.slice(0, -1) + alphabet[last | bits]).join('.')
        expect(Buffer.from(variant.split('.')[p]!, 'base64url')).toEqual(Buffer.from(part, 'base64url'))
        expect(rejection(`Bearer ${variant}`)).toBe('UNAUTHENTICATED')
        tried++
      }
      // A character more that a decoder drops (6 spare bits).
      expect(rejection(`Bearer ${parts.with(p, `${part}A`).join('.')}`)).toBe('UNAUTHENTICATED')
    }
    expect(tried).toBeGreaterThan(0)
  })
})
