import { describe, expect, test } from 'bun:test'
import { ServiceError } from '../../src/errors'
import { checkKey } from '../../src/idempotency/idempotency'
import { call, onEachDatabase } from '../support/app'
import { createConcert, hold, pay, shopper, userToken } from '../support/scenario'

// A header value reaches the app as its bytes, one character each (Bun reads it as Latin-1), so a key
// sent as UTF-8 is written here the same way: the UTF-8 bytes of the text, each as one character.
const onTheWire = (text: string) => Buffer.from(text, 'utf8').toString('latin1')
const refused = (key: string) => {
  try {
    checkKey(key)
    return false
  } catch (error) {
    return error instanceof ServiceError && error.code === 'VALIDATION_FAILED'
  }
}

describe('Idempotency-Key: 1-255 characters, no control characters (PRODUCT.md)', () => {
  test('a key sent as UTF-8 is counted in characters, not bytes, and is kept as it came', () => {
    const tickets = onTheWire('🎫'.repeat(64)) // 64 characters, 256 bytes
    expect(checkKey(tickets)).toBe(tickets)
    expect(checkKey(onTheWire('é'.repeat(255)))).toBe(onTheWire('é'.repeat(255)))
    expect(refused(onTheWire('é'.repeat(256)))).toBe(true)
    expect(refused('k'.repeat(256))).toBe(true)
    expect(checkKey('k'.repeat(255))).toBe('k'.repeat(255))
  })

  test('control characters are refused, C1 ones sent as UTF-8 too; bytes that are not UTF-8 are judged as they are', () => {
    for (const key of ['', 'a\u0001b', 'a\u007fb', onTheWire('a\u0085b'), onTheWire('a\u009bb')]) expect(refused(key)).toBe(true)
    expect(checkKey('\u00e9\u00ff')).toBe('\u00e9\u00ff') // not UTF-8: two Latin-1 characters
    expect(checkKey(onTheWire('clé-€-1'))).toBe(onTheWire('clé-€-1'))
  })
})

onEachDatabase('Idempotency-Key: the longest keys the contract allows are stored and replayed', {}, (ctx) => {
  // 255 characters of three bytes each (765 bytes on the wire), 64 of four (256), 255 of two: all valid.
  const longest = [onTheWire('키'.repeat(255)), onTheWire('🎫'.repeat(64)), onTheWire('é'.repeat(255)), 'k'.repeat(255)]

  test('a keyed charge with each: 201, then the same answer replayed; one credit each', async () => {
    const alice = { token: await userToken(ctx.server, 'k-longest-charge') }
    for (const key of longest) {
      const first = await call(ctx.server, '/v1/balance/charges', { ...alice, body: { amount: 1 }, headers: { 'idempotency-key': key } })
      const again = await call(ctx.server, '/v1/balance/charges', { ...alice, body: { amount: 1 }, headers: { 'idempotency-key': key } })
      expect(first.status).toBe(201)
      expect([again.status, again.text, again.headers.get('idempotent-replayed')]).toEqual([201, first.text, 'true'])
    }
    expect((await call(ctx.server, '/v1/balance', alice)).body.balance).toBe(longest.length)
  })

  test('a keyed payment with the longest UTF-8 key: 201, then the same answer replayed', async () => {
    const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 1, price: 10 })
    const alice = await shopper(ctx.server, 'k-longest-pay', concertId, 100)
    const held = await hold(ctx.server, alice, scheduleIds[0]!, 1)
    const first = await pay(ctx.server, alice, held.body.reservationId, longest[0])
    const again = await pay(ctx.server, alice, held.body.reservationId, longest[0])
    expect(first.status).toBe(201)
    expect([again.status, again.text]).toEqual([201, first.text])
  })
})

onEachDatabase('Idempotency-Key: one key per user, whatever it was sent with (README, Idempotency)', {}, (ctx) => {
  test('a key used for a top-up and then for a payment: 422 IDEMPOTENCY_KEY_REUSED, nothing paid (helper-45)', async () => {
    const { concertId, scheduleIds } = await createConcert(ctx.server, { seats: 1, price: 10 })
    const alice = await shopper(ctx.server, 'k-both-endpoints', concertId, 100)
    const topUp = await call(ctx.server, '/v1/balance/charges', { ...alice, body: { amount: 5 }, headers: { 'idempotency-key': 'k-shared' } })
    expect(topUp.status).toBe(201)
    const held = await hold(ctx.server, alice, scheduleIds[0]!, 1)
    const paid = await pay(ctx.server, alice, held.body.reservationId, 'k-shared')
    expect([paid.status, paid.body.code]).toEqual([422, 'IDEMPOTENCY_KEY_REUSED'])
    expect((await call(ctx.server, '/v1/balance', alice)).body.balance).toBe(105)
    expect((await call(ctx.server, `/v1/reservations/${held.body.reservationId}`, alice)).body.status).toBe('HELD')
  })
})
