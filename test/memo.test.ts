import { expect, test } from 'bun:test'
import { boundedMemo } from '../src/memo'

/** A clock the test moves. */
function clock() {
  let ms = 0
  return { now: () => ms, pass: (by: number) => void (ms += by) }
}

test('with more keys in use than the bound, a fixed set of them stays remembered (cleared when full, none did)', () => {
  const time = clock()
  const memo = boundedMemo<number>(100, 1_000, time.now)
  let hits = 0
  let asks = 0
  // 120 users polling in turn, round after round, as a waiting line does, over several sweep periods.
  for (let round = 0; round < 50; round++) {
    for (let user = 0; user < 120; user++) {
      asks++
      if (memo.get(`u${user}`) === user) hits++
      else memo.set(`u${user}`, user)
      time.pass(1)
    }
  }
  expect(memo.size).toBe(100)
  // After the first round, the 100 remembered users find theirs every time: 100 of 120.
  expect(hits).toBe(100 * 49)
  expect(asks).toBe(120 * 50)
})

test('a sweep forgets the keys not asked for since the sweep before, and makes room for new ones', () => {
  const time = clock()
  const memo = boundedMemo<string>(3, 1_000, time.now)
  for (const key of ['a', 'b', 'c']) memo.set(key, key)
  memo.set('d', 'd') // full: the first sweep marks a, b, c as not asked for since, and forgets none
  expect([memo.get('d'), memo.size]).toEqual([undefined, 3])
  time.pass(500)
  memo.get('a') // a is in use; b and c are not
  memo.set('e', 'e') // full, and the last sweep was 500 ms ago: no sweep yet
  expect(memo.get('e')).toBeUndefined()
  time.pass(500)
  memo.set('e', 'e') // a sweep: b and c go, a stays, e comes in
  expect(['a', 'b', 'c', 'e'].map((k) => memo.get(k))).toEqual(['a', undefined, undefined, 'e'])
  expect(memo.size).toBe(2)
})

test('a key already remembered is replaced even when the memo is full', () => {
  const memo = boundedMemo<number>(2, 1_000, () => 0)
  memo.set('a', 1)
  memo.set('b', 2)
  memo.set('a', 3)
  expect([memo.get('a'), memo.get('b'), memo.size]).toEqual([3, 2, 2])
})
