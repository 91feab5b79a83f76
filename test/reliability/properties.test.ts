import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import { userTokens } from '../../src/identity/user-tokens'
import { ServiceError } from '../../src/errors'
import { queueTokens } from '../../src/waiting-room/queue-token'

// Properties of the two credentials, checked in-process with shrinking (no services needed): a token
// that differs from a genuine one in any way is refused, and a genuine one is accepted.

const SECRET = 'property-secret-0123456789'
const ticket = fc.record({ concertId: fc.uuid(), userId: fc.string({ minLength: 1, maxLength: 128 }), seq: fc.integer({ min: 1, max: 2 ** 40 }) })

type Alteration = { kind: 'flip' | 'cut' | 'append' | 'replace'; at?: number; bit?: number; extra?: string; char?: string }
/** Ways a token can be altered: a flipped bit, a cut, something added, a character replaced. */
const alteration: fc.Arbitrary<Alteration> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 6 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('append' as const), extra: fc.string({ minLength: 1, maxLength: 4 }) }),
  fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), char: fc.constantFrom(...'AQgw-_.=+/ 0'.split('')) }),
)
function alter(token: string, a: Alteration): string {
  const at = (a.at ?? 0) % token.length
  switch (a.kind) {
    case 'flip':
      return token.slice(0, at) + String.fromCharCode(token.charCodeAt(at) ^ (1 << a.bit!)) + token.slice(at + 1)
    case 'cut':
      return token.slice(0, at)
    case 'append':
      return token + a.extra
    case 'replace':
      return token.slice(0, at) + a.char + token.slice(at + 1)
  }
}

describe('reliability: token properties (fast-check)', () => {
  test('13a. queue tokens: a genuine token verifies; any alteration of it is refused', () => {
    const tokens = queueTokens(SECRET)
    let checked = 0
    fc.assert(
      fc.property(ticket, alteration, (t, a) => {
        const token = tokens.sign(t)
        expect(tokens.verify(token, t.userId)).toEqual(t)
        const altered = alter(token, a)
        fc.pre(altered !== token)
        checked++
        expect(() => tokens.verify(altered, t.userId)).toThrow()
      }),
      { numRuns: 5000 },
    )
    // Another user, another secret.
    fc.assert(
      fc.property(ticket, fc.string({ minLength: 1, maxLength: 128 }), fc.string({ minLength: 16, maxLength: 40 }), (t, other, secret) => {
        fc.pre(other !== t.userId && secret !== SECRET)
        expect(() => tokens.verify(tokens.sign(t), other)).toThrow()
        expect(() => tokens.verify(queueTokens(secret).sign(t), t.userId)).toThrow()
      }),
      { numRuns: 2000 },
    )
    console.log(`13a. altered queue tokens refused: ${checked} of ${checked}`)
  })

  test('13b. user tokens: a genuine token verifies; any alteration of it is refused', async () => {
    const tokens = userTokens(SECRET)
    const subject = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-_@.'.split('')), minLength: 1, maxLength: 128 })
    let checked = 0
    await fc.assert(
      fc.asyncProperty(subject, alteration, async (userId, a) => {
        const token = await tokens.issue(userId)
        expect(tokens.verify(`Bearer ${token}`)).toBe(userId)
        const altered = alter(token, a)
        fc.pre(altered !== token && /^[\x21-\x7e]+$/.test(altered))
        checked++
        expect(() => tokens.verify(`Bearer ${altered}`), `accepted an altered token: ${altered}`).toThrow(ServiceError)
      }),
      { numRuns: 3000 },
    )
    console.log(`13b. altered user tokens refused: ${checked} of ${checked}`)
  })
})
