import { expect, test } from 'bun:test'
import { createHmac } from 'node:crypto'
import { hmacSha256 } from '../src/hmac'

test('hmacSha256 gives what node:crypto gives, for every message of one key, again and again', () => {
  for (const key of ['k', 'a-longer-secret-0123456789', 'k'.repeat(100), Buffer.from([0, 255, 7])]) {
    const mac = hmacSha256(key)
    for (const message of ['', 'a', 'header.payload', 'ü'.repeat(300), 'x'.repeat(5000)]) {
      const expected = createHmac('sha256', key).update(message).digest()
      expect(mac(message).equals(expected)).toBe(true)
      expect(mac(message).equals(expected)).toBe(true)
    }
  }
})
