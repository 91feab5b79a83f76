import { describe, expect, test } from 'bun:test'
import { ServiceError } from '../../src/errors'
import { deriveQueueTokenSecret, queueTokens } from '../../src/waiting-room/queue-token'

const tokens = queueTokens('queue-secret-0123456789')
const ticket = { concertId: '7b4c8a5e-6f0a-4c62-9d1a-2b0f0a7e6b11', userId: 'alice', seq: 42 }

function rejection(fn: () => unknown): string {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(ServiceError)
    return (error as ServiceError).code
  }
  throw new Error('accepted')
}

describe('queue tokens', () => {
  test('a signed token verifies for its user and names its place', () => {
    expect(tokens.verify(tokens.sign(ticket), 'alice')).toEqual(ticket)
  })

  test('another user presenting it is rejected as invalid', () => {
    expect(rejection(() => tokens.verify(tokens.sign(ticket), 'bob'))).toBe('QUEUE_TOKEN_INVALID')
  })

  test('missing, truncated, tampered or foreign-signed tokens are rejected', () => {
    const good = tokens.sign(ticket)
    const [payload, mac] = good.split('.') as [string, string]
    const forged = Buffer.from(JSON.stringify({ c: ticket.concertId, u: 'alice', s: 1 })).toString('base64url')
    for (const bad of [
      undefined,
      '',
      good.slice(0, -1),
      good.slice(1),
      `${forged}.${mac}`,
      `${payload}.${mac.slice(0, -2)}AA`,
      `${payload}.${mac}.x`,
      queueTokens('another-secret-0123456789').sign(ticket),
      'not-a-token',
    ]) {
      expect(rejection(() => tokens.verify(bad, 'alice'))).toBe('QUEUE_TOKEN_INVALID')
    }
  })

  test('a token verified before stays refused to another user, and its tampered spellings stay refused', () => {
    const good = tokens.sign({ ...ticket, seq: 7 })
    expect(tokens.verify(good, 'alice').seq).toBe(7)
    expect(tokens.verify(good, 'alice').seq).toBe(7) // answered from the verified tokens
    expect(rejection(() => tokens.verify(good, 'bob'))).toBe('QUEUE_TOKEN_INVALID')
    const [payload, mac] = good.split('.') as [string, string]
    for (const bad of [`${payload}.${mac.slice(0, -1)}${mac.at(-1) === 'A' ? 'B' : 'A'}`, `${payload}x.${mac}`, `${good}A`]) {
      expect(rejection(() => tokens.verify(bad, 'alice'))).toBe('QUEUE_TOKEN_INVALID')
    }
    expect(Object.isFrozen(tokens.open(good))).toBe(true)
  })

  test('the derived secret depends on the user-token secret', () => {
    expect(deriveQueueTokenSecret('a'.repeat(20))).not.toBe(deriveQueueTokenSecret('b'.repeat(20)))
  })
})
