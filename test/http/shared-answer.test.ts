import { describe, expect, test } from 'bun:test'
import { brotliCompressSync, brotliDecompressSync, constants } from 'node:zlib'
import { answerShared, chooseEncoding, perRequestEncoding, sharedAnswer, stillCurrent } from '../../src/http/shared-answer'
import { methodTable } from '../../src/http/methods'
import { toOas30 } from '../../src/http/openapi/schema'
import { Type } from '@sinclair/typebox'

const seatMap = JSON.stringify(Array.from({ length: 50 }, (_, i) => ({ number: i + 1, price: 1000, status: 'AVAILABLE' })))

describe('shared answers', () => {
  test('the compressed form is made once and the same bytes are sent to every client', async () => {
    const shared = sharedAnswer(seatMap)
    const a = await answerShared(new Request('http://x/', { headers: { 'accept-encoding': 'br' } }), shared, 'private, no-cache')
    const b = await answerShared(new Request('http://x/', { headers: { 'accept-encoding': 'gzip, br' } }), shared, 'private, no-cache')
    expect(a.headers.get('content-encoding')).toBe('br')
    expect(b.headers.get('content-encoding')).toBe('br')
    expect(shared.encoded('br')).toBe(shared.encoded('br')) // the same object: not compressed again
  })

  test('a big body is compressed once off the event loop: readers meanwhile share that one compression', async () => {
    const big = JSON.stringify(Array.from({ length: 20_000 }, (_, i) => ({ number: i + 1, price: 1000, status: i % 3 ? 'AVAILABLE' : 'HELD' })))
    const shared = sharedAnswer(big)
    const first = shared.encoded('gzip')
    expect(first).toBeInstanceOf(Promise)
    expect(shared.encoded('gzip')).toBe(first)
    const blob = await first
    expect(shared.encoded('gzip')).toBe(blob) // kept: later readers get the same bytes at once
    expect(new TextDecoder().decode(Bun.gunzipSync(await blob.bytes()))).toBe(big)
    const response = await answerShared(new Request('http://x/', { headers: { 'accept-encoding': 'br' } }), shared, 'private, no-cache')
    expect(response.headers.get('content-encoding')).toBe('br')
    expect(brotliDecompressSync(await response.bytes()).toString()).toBe(big)
    expect(await (await answerShared(new Request('http://x/'), shared, 'no-cache')).text()).toBe(big)
  })

  test('a big body that can be drawn again is not kept once compressed; a reader of another form has it drawn again, the same bytes', async () => {
    const big = JSON.stringify(Array.from({ length: 20_000 }, (_, i) => ({ number: i + 1, price: 1000, status: i % 3 ? 'AVAILABLE' : 'HELD' })))
    let draws = 0
    const redraw = () => {
      draws++
      return new TextEncoder().encode(big)
    }
    const shared = sharedAnswer(redraw(), { redraw })
    expect(shared.kept).toBe(0) // held only until compressed
    const br = await shared.encoded('br')
    expect(shared.kept).toBe(br.size) // only the compressed form: a tenth of the body or less
    expect(br.size * 10).toBeLessThan(shared.size)
    expect(draws).toBe(1)
    expect(new TextDecoder().decode(Bun.gunzipSync(await (await shared.encoded('gzip')).bytes()))).toBe(big)
    expect(await shared.plain.text()).toBe(big)
    expect(draws).toBe(3) // once for gzip, once for the plain form, which is then kept
    expect(shared.plain).toBe(shared.plain)
    expect(draws).toBe(3)
    expect(brotliDecompressSync(await br.bytes()).toString()).toBe(big)
    expect(shared.etag).toBe(sharedAnswer(big).etag)
  })

  test("a big body's brotli form uses a 256 KB window, not brotli's 4 MB (less memory for each compression under way)", async () => {
    const big = JSON.stringify(Array.from({ length: 20_000 }, (_, i) => ({ number: i + 1, price: 1000, status: i % 3 ? 'AVAILABLE' : 'HELD' })))
    const first = (await (await sharedAnswer(big).encoded('br')).bytes())[0]!
    // RFC 7932 9.1: the stream starts with WBITS; 18 is the bit 1, then 1 in the next three bits.
    expect(first & 0x0f).toBe(0b0011)
    expect((await (await sharedAnswer(seatMap).encoded('br')).bytes())[0]! & 0x0f).toBe(0b0011) // a small body's too
  })

  test('forms compressed ahead of time are sent as they were given, not compressed again', async () => {
    const bytes = new TextEncoder().encode(seatMap)
    const hard = { br: new Uint8Array(brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } })), gzip: Bun.gzipSync(bytes, { level: 9 }) }
    const shared = sharedAnswer(bytes, { contentType: 'text/plain', compressed: hard })
    expect(shared.kept).toBe(bytes.byteLength * 2 + hard.br.byteLength + hard.gzip.byteLength) // the plain form and the small body's copy, and both given forms
    for (const encoding of ['br', 'gzip'] as const) {
      const response = await answerShared(new Request('http://x/', { headers: { 'accept-encoding': encoding } }), shared, 'no-cache', { 'x-extra': 'kept' })
      expect([response.headers.get('content-encoding'), response.headers.get('content-type'), response.headers.get('x-extra')]).toEqual([encoding, 'text/plain', 'kept'])
      expect(await response.bytes()).toEqual(hard[encoding])
    }
  })

  test('each content coding is a representation with a tag of its own; a 304 answers for the form the client would be sent', async () => {
    const shared = sharedAnswer(seatMap)
    const ask = (encoding: string | null, ifNoneMatch?: string) =>
      answerShared(new Request('http://x/', { headers: { ...(encoding ? { 'accept-encoding': encoding } : {}), ...(ifNoneMatch ? { 'if-none-match': ifNoneMatch } : {}) } }), shared, 'no-cache')
    const tags = await Promise.all([null, 'gzip', 'br'].map(async (e) => (await ask(e)).headers.get('etag')!))
    expect(tags).toEqual([shared.etag, shared.etag.replace(/"$/, '-gzip"'), shared.etag.replace(/"$/, '-br"')])
    expect(new Set(tags).size).toBe(3)
    for (const [i, encoding] of [null, 'gzip', 'br'].entries()) {
      for (const [j, tag] of tags.entries()) {
        const again = await ask(encoding, tag)
        expect([encoding, j, again.status]).toEqual([encoding, j, i === j ? 304 : 200])
        if (i === j) expect(again.headers.get('etag')).toBe(tag)
      }
    }
    // A body too small to compress has one form, and one tag, whatever is accepted.
    const small = sharedAnswer('{"ok":true}')
    const tag = (await answerShared(new Request('http://x/', { headers: { 'accept-encoding': 'br' } }), small, 'no-cache')).headers.get('etag')
    expect(tag).toBe(small.etag)
  })

  test('the ETag is strong and a function of the bytes alone (the same on every instance)', () => {
    expect(sharedAnswer(seatMap).etag).toBe(sharedAnswer(seatMap).etag)
    expect(sharedAnswer(seatMap).etag).not.toBe(sharedAnswer(seatMap.replace('"AVAILABLE"', '"HELD"')).etag)
    expect(sharedAnswer(seatMap).etag).toMatch(/^"[0-9a-z-]+"$/)
  })

  test('Accept-Encoding: the highest weight wins, br first among equals, identity only when weighed above them; q=0 refuses, * accepts, nothing means identity', () => {
    const chosen: [string | null, string | null][] = [
      ['gzip, deflate, br', 'br'],
      ['gzip', 'gzip'],
      ['br;q=0, gzip;q=0.5', 'gzip'],
      ['*', 'br'],
      ['*;q=0', null],
      ['identity', null],
      [null, null],
      ['br;q=nonsense', null],
      // Weights decide before the server's order (a hostile probe found br sent for the first).
      ['br;q=0.5, gzip;q=0.9', 'gzip'],
      ['gzip;q=0.8, br;q=0.8', 'br'],
      ['*;q=0.2, gzip;q=0.1', 'br'],
      // Not qvalues (RFC 9110 12.4.2): above 1, more than three decimals, signs.
      ['br;q=1.5, gzip;q=0.1', 'gzip'],
      ['br;q=0.0001', null],
      ['br;q=-1', null],
      ['BR; Q=0.7, gzip; q=0.6', 'br'],
      // identity named with a higher weight is preferred; with an equal or lower one, or unnamed, it is not.
      ['identity;q=1, gzip;q=0.5', null],
      ['identity;q=0.5, gzip;q=0.6', 'gzip'],
      ['identity, gzip', 'gzip'],
      ['identity;q=0.9, *', 'br'],
      ['identity;q=0, br', 'br'],
    ]
    for (const [header, encoding] of chosen) expect([header, chooseEncoding(header)]).toEqual([header, encoding])
    expect(perRequestEncoding('gzip, br')).toBe('gzip')
    expect(perRequestEncoding('gzip;q=0.5, br')).toBe('br')
  })

  test('If-None-Match: a list, weak forms and * match; anything else does not', () => {
    expect(stillCurrent('"a"', '"a"')).toBe(true)
    expect(stillCurrent('"b", W/"a"', '"a"')).toBe(true)
    expect(stillCurrent('*', '"a"')).toBe(true)
    expect(stillCurrent('"ab"', '"a"')).toBe(false)
    expect(stillCurrent('a', '"a"')).toBe(false)
    expect(stillCurrent(null, '"a"')).toBe(false)
  })
})

describe('the method table', () => {
  const methodsOf = methodTable([
    { method: 'GET', path: '/v1/reservations' },
    { method: 'POST', path: '/v1/reservations' },
    { method: 'DELETE', path: '/v1/reservations/:reservationId' },
    { method: 'GET', path: '/v1/reservations/:reservationId' },
  ])
  test('names the methods of a known path, with HEAD for GET and OPTIONS; none for an unknown one', () => {
    expect(methodsOf('/v1/reservations')).toEqual(['GET', 'HEAD', 'OPTIONS', 'POST'])
    expect(methodsOf('/v1/reservations/abc')).toEqual(['DELETE', 'GET', 'HEAD', 'OPTIONS'])
    expect(methodsOf('/v1/reservations/abc/def')).toEqual([])
    expect(methodsOf('/v1/reservationsX')).toEqual([])
  })
})

describe('schemas in the OpenAPI 3.0.3 dialect', () => {
  test('literal unions become enums, T | null becomes nullable, const becomes a one-value enum', () => {
    const schema = toOas30(
      JSON.parse(
        JSON.stringify(
          Type.Object({
            status: Type.Union([Type.Literal('A'), Type.Literal('B')], { description: 'd' }),
            position: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()]),
            paid: Type.Literal('PAID'),
            either: Type.Union([Type.String(), Type.Integer(), Type.Null()]),
          }),
        ),
      ),
    )
    expect(schema.properties.status).toEqual({ type: 'string', enum: ['A', 'B'], description: 'd' })
    expect(schema.properties.position).toEqual({ type: 'integer', minimum: 1, nullable: true })
    expect(schema.properties.paid).toEqual({ type: 'string', enum: ['PAID'] })
    expect(schema.properties.either).toEqual({ anyOf: [{ type: 'string' }, { type: 'integer' }], nullable: true })
  })
})
