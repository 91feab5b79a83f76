import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import { lineKeys, perSlotRegistry } from '../../../src/waiting-room/redis/scripts'
import { keySlot, SLOTS, slotTag } from '../../../src/waiting-room/redis/slots'

// The cluster layout rests on two facts: our slot function is Redis' (CRC16/XMODEM of the hash tag,
// mod 16384), and every key a line's script receives, its registry entry included, has one slot.
describe('Redis Cluster slots', () => {
  test('the slot of a key is the one Redis gives (examples from the Redis Cluster specification)', () => {
    expect(keySlot('123456789')).toBe(0x31c3 % SLOTS)
    expect(keySlot('foo')).toBe(12182)
    expect(keySlot('{user1000}.following')).toBe(keySlot('{user1000}.followers'))
    expect(keySlot('{user1000}.following')).toBe(keySlot('user1000'))
    // An empty tag does not count: the whole key is hashed.
    expect(keySlot('foo{}{bar}')).not.toBe(keySlot('bar'))
    expect(keySlot('foo{{bar}}zap')).toBe(keySlot('{bar'))
  })

  test('every slot has a tag that lands in it', () => {
    for (let slot = 0; slot < SLOTS; slot++) expect(keySlot(`{${slotTag(slot)}}`)).toBe(slot)
  })

  test('all keys a line script receives, its slot registry included, share one slot', () => {
    const registry = perSlotRegistry('wr')
    fc.assert(
      fc.property(fc.uuid(), (concertId) => {
        const slots = new Set(lineKeys('wr', concertId.toLowerCase(), registry).map(keySlot))
        expect(slots.size).toBe(1)
      }),
      { numRuns: 2000 },
    )
  })
})
