import { describe, expect, test } from 'bun:test'
import { groupCommit } from '../../src/db/group-commit'
import { endOfTurn } from '../support/locks'

// Group commit (src/db/group-commit.ts): calls of one key that arrive while a batch of that key
// is in flight go together as the next batch; a lone call goes at once; with room for a second batch in
// flight, the calls of one turn of the event loop go together.

/** A batch runner that records its batches and answers each input doubled once released. */
function recorder(fail: (inputs: number[]) => unknown = () => null) {
  const batches: { key: string; inputs: number[] }[] = []
  const pending: (() => void)[] = []
  const run = (key: string, inputs: number[]) => {
    batches.push({ key, inputs })
    return new Promise<number[]>((resolve, reject) => {
      pending.push(() => {
        const error = fail(inputs)
        if (error) reject(error)
        else resolve(inputs.map((n) => n * 2))
      })
    })
  }
  /** Lets every batch sent so far answer, and waits until their callers have heard. */
  const release = async () => {
    for (const answer of pending.splice(0)) answer()
    await Bun.sleep(0)
  }
  return { batches, run, release }
}

const unreachable = Object.assign(new Error('connection refused'), { unreachable: true })
const options = { maxBatch: 3, failsAll: (error: unknown) => (error as { unreachable?: boolean }).unreachable === true }

describe('group commit', () => {
  test('a lone call goes at once, alone', async () => {
    const r = recorder()
    const call = groupCommit(r.run, options)

    const answer = call('line', 1)

    expect(r.batches).toEqual([{ key: 'line', inputs: [1] }])
    await r.release()
    expect(await answer).toBe(2)
  })

  test('calls that arrive while a batch is in flight go together next, and each caller gets its own answer', async () => {
    const r = recorder()
    const call = groupCommit(r.run, options)

    const answers = [call('line', 1), call('line', 2), call('line', 3), call('line', 4)]
    expect(r.batches).toHaveLength(1)
    await r.release()
    await r.release()

    expect(r.batches.map((b) => b.inputs)).toEqual([[1], [2, 3, 4]])
    expect(await Promise.all(answers)).toEqual([2, 4, 6, 8])
  })

  test('a batch holds at most maxBatch calls; the rest go in the batch after', async () => {
    const r = recorder()
    const call = groupCommit(r.run, options)

    const answers = [1, 2, 3, 4, 5, 6].map((n) => call('line', n))
    for (let i = 0; i < 3; i++) await r.release()

    expect(r.batches.map((b) => b.inputs)).toEqual([[1], [2, 3, 4], [5, 6]])
    expect(await Promise.all(answers)).toEqual([2, 4, 6, 8, 10, 12])
  })

  test('keys do not wait for each other', () => {
    const r = recorder()
    const call = groupCommit(r.run, options)

    void call('line a', 1)
    void call('line b', 2)

    expect(r.batches).toEqual([
      { key: 'line a', inputs: [1] },
      { key: 'line b', inputs: [2] },
    ])
  })

  test('an error of a batch fails only the calls it concerns: the batch is run again call by call', async () => {
    const r = recorder((inputs) => (inputs.includes(3) ? new Error('bad input 3') : null))
    const call = groupCommit(r.run, options)

    const first = call('line', 1)
    const answers = [2, 3, 4].map((n) => call('line', n).then((v) => v, (e: Error) => e.message))
    await r.release() // the first call
    await r.release() // the batch of 2, 3, 4 fails
    await r.release() // each alone

    expect(await first).toBe(2)
    expect(await Promise.all(answers)).toEqual([4, 'bad input 3', 8])
    expect(r.batches.map((b) => b.inputs)).toEqual([[1], [2, 3, 4], [2], [3], [4]])
  })

  test('an error that concerns every call (the database is unreachable) fails the batch at once', async () => {
    const r = recorder(() => unreachable)
    const call = groupCommit(r.run, options)

    const answers = [1, 2, 3].map((n) => call('line', n).then(() => 'answered', (e: Error) => e.message))
    await r.release()
    await r.release()

    expect(await Promise.all(answers)).toEqual(['connection refused', 'connection refused', 'connection refused'])
    expect(r.batches.map((b) => b.inputs)).toEqual([[1], [2, 3]])
  })

  test('after the last batch of a key returns, the next call goes at once again', async () => {
    const r = recorder()
    const call = groupCommit(r.run, options)
    const first = call('line', 1)
    await r.release()
    await first

    void call('line', 5)

    expect(r.batches.map((b) => b.inputs)).toEqual([[1], [5]])
  })
})

describe('group commit of users (holds, payments, charges)', () => {
  test('with a batch in flight and room for another, the calls of one turn of the event loop leave together: each user once, in ascending order', async () => {
    const r = recorder()
    const call = groupCommit<number, number>(r.run, { ...options, maxBatch: 10, inFlight: 2, userOf: (n) => String(n % 10) })
    const answers = [call('', 1), call('', 2), call('', 9), call('', 3), call('', 13), call('', 7)]
    // Without gathering, 2 went alone at once, as the second batch in flight.
    expect(r.batches.map((b) => b.inputs)).toEqual([[1]])
    await endOfTurn()
    // 3 and 13 are one user: 13 waits for the next batch.
    expect(r.batches.map((b) => b.inputs)).toEqual([[1], [2, 3, 7, 9]])
    await r.release()
    expect(r.batches.map((b) => b.inputs)).toEqual([[1], [2, 3, 7, 9], [13]])
    await r.release()
    expect(await Promise.all(answers)).toEqual([2, 4, 18, 6, 26, 14])
  })

  test('calls that arrive while every batch slot is taken leave together when one returns', async () => {
    const r = recorder()
    const call = groupCommit<number, number>(r.run, { ...options, maxBatch: 10, inFlight: 2, userOf: String })
    const answers = [call('', 1), call('', 2)]
    await endOfTurn()
    expect(r.batches.map((b) => b.inputs)).toEqual([[1], [2]])
    answers.push(call('', 4), call('', 3))
    await endOfTurn()
    expect(r.batches).toHaveLength(2) // both slots taken: nothing leaves at the end of the turn
    await r.release()
    expect(r.batches.map((b) => b.inputs)).toEqual([[1], [2], [3, 4]])
    await r.release()
    expect(await Promise.all(answers)).toEqual([2, 4, 8, 6])
  })
})
