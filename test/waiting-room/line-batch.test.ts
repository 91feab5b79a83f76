import { expect, test } from 'bun:test'
import { lineBatch } from '../../src/waiting-room/line-batch'

// The batching of a line's calls: one store call per key and turn, each caller its own answer, a
// failure only for the callers of the failed batch, and no batch over its size.

test('calls of one turn go as one call per key; each caller gets the answer at its own index', async () => {
  const sent: [string, number[]][] = []
  const double = lineBatch<number, number>(async (key, items) => {
    sent.push([key, items])
    return items.map((n) => n * 2)
  })
  const answers = await Promise.all([double('a', 1), double('b', 10), double('a', 2), double('a', 3), double('b', 20)])
  expect(answers).toEqual([2, 20, 4, 6, 40])
  expect(sent).toEqual([
    ['a', [1, 2, 3]],
    ['b', [10, 20]],
  ])
  // The next turn is a new batch.
  expect(await double('a', 7)).toBe(14)
  expect(sent.at(-1)).toEqual(['a', [7]])
})

test('a failed batch fails its own callers and no others', async () => {
  const call = lineBatch<number, number>(async (key, items) => {
    if (key === 'down') throw new Error('store down')
    return items
  })
  const results = await Promise.allSettled([call('down', 1), call('up', 2), call('down', 3)])
  expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'rejected'])
  expect((results[1] as PromiseFulfilledResult<number>).value).toBe(2)
  // A send that throws before returning a promise, and one that answers with the wrong count, fail too.
  const throwing = lineBatch<number, number>(() => {
    throw new Error('sync')
  })
  await expect(throwing('k', 1)).rejects.toThrow('sync')
  const short = lineBatch<number, number>(async () => [1])
  expect((await Promise.allSettled([short('k', 1), short('k', 2)])).every((r) => r.status === 'rejected')).toBe(true)
})

test('a batch never exceeds its size: the rest goes in the next call', async () => {
  const sizes: number[] = []
  const call = lineBatch<number, number>(async (_, items) => {
    sizes.push(items.length)
    return items
  }, 4)
  const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => call('k', i)))
  expect(answers).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
  expect(sizes).toEqual([4, 4, 2])
})

test('a lone call is answered within the turn that follows it, without waiting for others', async () => {
  const call = lineBatch<number, number>(async (_, items) => items)
  const started = performance.now()
  expect(await call('k', 5)).toBe(5)
  expect(performance.now() - started).toBeLessThan(20)
})
