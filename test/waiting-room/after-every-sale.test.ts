import { expect, test } from 'bun:test'
import { afterEverySale } from '../../src/waiting-room/waiting-room'

// The sold-out check after payments: one check per concert at a time, and every sale followed by a
// check that started after it.

function recorder() {
  const started: string[] = []
  const finish: (() => void)[] = []
  const check = (concertId: string) => {
    started.push(concertId)
    return new Promise<void>((resolve) => finish.push(resolve))
  }
  const settle = async () => {
    finish.shift()!()
    await Bun.sleep(0)
  }
  return { started, finish, check, settle }
}

test('a single sale is checked at once, not after a delay', () => {
  const r = recorder()
  afterEverySale(r.check).after('a')
  expect(r.started).toEqual(['a'])
})

test('sales during a running check share one more check that starts after it, and then it stops', async () => {
  const r = recorder()
  const sales = afterEverySale(r.check)
  sales.after('a')
  sales.after('a')
  sales.after('a')
  expect(r.started).toEqual(['a'])
  await r.settle()
  expect(r.started).toEqual(['a', 'a'])
  await r.settle()
  expect(r.started).toEqual(['a', 'a'])
  expect(r.finish).toEqual([])
  sales.after('a') // nothing runs now: a new sale starts a new check at once
  expect(r.started).toEqual(['a', 'a', 'a'])
})

test('each concert has its own check', () => {
  const r = recorder()
  const sales = afterEverySale(r.check)
  sales.after('a')
  sales.after('b')
  sales.after('a')
  expect(r.started).toEqual(['a', 'b'])
})
