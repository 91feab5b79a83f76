import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import { shapeRefusal } from '../../src/http/json-body'

// The shape check reads the text of a body JSON.parse has taken (src/http/json-body.ts): its depth and
// the member names of each object, strings skipped. Checked against the parsed value, over texts with
// every kind of string (quotes, backslashes, brackets, escapes) and spacing.

const depthOf = (value: unknown): number =>
  value !== null && typeof value === 'object' ? 1 + Math.max(0, ...Object.values(value as object).map(depthOf)) : 0

// JSON.stringify never repeats a name; these texts do, in one object somewhere inside.
function withRepeatedName(value: unknown, name: string): string | null {
  if (value === null || typeof value !== 'object') return null
  if (!Array.isArray(value)) {
    const body = JSON.stringify(value)
    const member = `${JSON.stringify(name)}:0`
    return body === '{}' ? `{${member},${member}}` : `{${member},${body.slice(1, -1)},${member}}`
  }
  for (let i = 0; i < value.length; i++) {
    const inner = withRepeatedName(value[i], name)
    if (inner !== null) return `[${[...value.slice(0, i).map((v) => JSON.stringify(v)), inner, ...value.slice(i + 1).map((v) => JSON.stringify(v))].join(',')}]`
  }
  return null
}

const hostileString = fc.string({ unit: fc.constantFrom('"', '\\', '{', '}', '[', ']', ',', ':', 'a', 'é', '\u0000', '\n', '\ud83c\udfb5') })
const value = fc.letrec((tie) => ({
  any: fc.oneof({ depthSize: 'small' }, fc.constant(null), fc.boolean(), fc.double({ noNaN: true, noDefaultInfinity: true }), hostileString, tie('array'), tie('object')),
  array: fc.array(tie('any'), { maxLength: 4 }),
  object: fc.dictionary(hostileString, tie('any'), { maxKeys: 4 }),
})).any

describe('the shape of a JSON body', () => {
  test('a text JSON.stringify wrote is refused exactly when it nests more than 8 levels, however its strings and spaces look', () => {
    fc.assert(
      // Wrapped in up to ten arrays or objects, so that both sides of the bound are reached.
      fc.property(value, fc.array(hostileString.map((name) => name || null), { maxLength: 10 }), fc.boolean(), (inner, wraps, spaced) => {
        const v = wraps.reduce<unknown>((w, name) => (name === null ? [w] : { [name]: w }), inner)
        const text = JSON.stringify(v, null, spaced ? 1 : undefined)
        expect(shapeRefusal(text)).toBe(depthOf(v) > 8 ? 'The body nests more than 8 levels deep' : null)
      }),
      { numRuns: 3000 },
    )
  })

  test('an object that names a member twice is refused wherever it is, the name spelled plainly or escaped', () => {
    fc.assert(
      fc.property(value.filter((v) => v !== null && typeof v === 'object' && depthOf(v) <= 7), hostileString, (v, name) => {
        const text = withRepeatedName(v, name)
        fc.pre(text !== null && depthOf(JSON.parse(text)) <= 8)
        expect(shapeRefusal(text!)).toBe('The body names a member twice in one object')
      }),
      { numRuns: 3000 },
    )
    expect(shapeRefusal('{"a":1,"\\u0061":2}')).toBe('The body names a member twice in one object')
    expect(shapeRefusal('{"a":{"a":1},"b":[{"a":1},{"a":2}]}')).toBeNull()
  })
})

describe('numbers written with a fraction or an exponent', () => {
  // Exact, in integers: the text's value is digits x 10^(exponent - fraction length).
  const wholeByText = (token: string) => {
    const [, whole, fraction = '', exponent = '0'] = /^-?(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(token)!
    const shift = Number(exponent) - fraction.length
    return shift >= 0 || BigInt(whole + fraction) % 10n ** BigInt(-shift) === 0n
  }
  const digits = (min: number, max: number) => fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: min, maxLength: max })
  const written = fc
    .tuple(fc.boolean(), digits(1, 22), fc.option(digits(1, 25)), fc.option(fc.tuple(fc.constantFrom('e', 'E'), fc.constantFrom('', '+', '-'), fc.integer({ min: 0, max: 30 }))))
    .map(([minus, whole, fraction, exponent]) => `${minus ? '-' : ''}${whole.replace(/^0+(?=\d)/, '')}${fraction === null ? '' : `.${fraction}`}${exponent === null ? '' : `${exponent[0]}${exponent[1]}${exponent[2]}`}`)
  // Just off a whole number (100000.0000000000001): the case a reading loses.
  const nearWhole = fc
    .tuple(fc.integer({ min: 1, max: 10 ** 6 }), fc.integer({ min: 10, max: 24 }), fc.constantFrom('1', '5', '9'), fc.option(fc.integer({ min: -3, max: 3 })))
    .map(([whole, zeros, last, exponent]) => `${whole}.${'0'.repeat(zeros)}${last}${exponent === null ? '' : `e${exponent}`}`)
  const token = fc.oneof(written, nearWhole)

  test('are refused exactly when they read as whole numbers but are not', () => {
    fc.assert(
      fc.property(token, (t) => {
        const refused = shapeRefusal(`{"amount":${t},"n":[${t}]}`) !== null
        expect([t, refused]).toEqual([t, Number.isInteger(Number(t)) && !wholeByText(t)])
      }),
      { numRuns: 5000 },
    )
  })
})
