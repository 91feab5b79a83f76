import { expect, test } from 'bun:test'
import { chargeBatches } from '../../src/balance/charge-batches'
import type { Sql } from '../../src/db/client'
import { onEachDatabase } from '../support/app'
import { endOfTurn } from '../support/locks'

// Charges without an Idempotency-Key share statements under load (src/balance/charge-batches.ts).

type Params = [string[], string[], number[], number]

/** A stand-in for the pool that records each batch and lets the test answer it. */
function fakeDatabase() {
  const batches: { users: string[]; amounts: number[]; answer: (rows: unknown[] | Error) => void }[] = []
  const sql = {
    unsafe(_text: string, params: Params) {
      return new Promise((resolve, reject) => {
        batches.push({
          users: params[1],
          amounts: params[2],
          answer: (rows) => (rows instanceof Error ? reject(rows) : resolve(rows)),
        })
      })
    },
  } as unknown as Sql
  const credit = (i: number, balance: (user: string) => number) =>
    batches[i]!.answer(batches[i]!.users.map((user) => ({ entry_id: `e-${user}`, user_id: user, balance: balance(user) })))
  return { sql, batches, credit }
}

function postgresError(message: string) {
  return Object.assign(new Error(message), { name: 'PostgresError' })
}

test('a lone charge is sent at once, not held back for company', () => {
  const db = fakeDatabase()
  void chargeBatches(db.sql, 1000).charge('alone', 5)
  expect(db.batches.map((b) => b.users)).toEqual([['alone']])
})

test('charges that arrive while batches run leave together, each user once and in ascending order; each caller gets its own answer', async () => {
  const db = fakeDatabase()
  const batches = chargeBatches(db.sql, 1000)
  const first = batches.charge('a', 1)
  const second = batches.charge('b', 2)
  await endOfTurn() // the two batches in flight
  const waiting = ['z', 'c', 'c', 'm'].map((user, i) => batches.charge(user, 10 + i))
  expect(db.batches.map((b) => b.users)).toEqual([['a'], ['b']])
  db.credit(0, () => 1)
  await Bun.sleep(0)
  expect(db.batches[2]!.users).toEqual(['c', 'm', 'z']) // the second 'c' waits for the next batch
  expect(db.batches[2]!.amounts).toEqual([11, 13, 10])
  db.credit(1, () => 2)
  await Bun.sleep(0)
  expect(db.batches[3]!.users).toEqual(['c'])
  expect(db.batches[3]!.amounts).toEqual([12])
  db.credit(2, (user) => ({ c: 111, m: 113, z: 110 })[user]!)
  db.credit(3, () => 123)
  expect(await first).toEqual({ entryId: 'e-a', balance: 1 })
  expect(await second).toEqual({ entryId: 'e-b', balance: 2 })
  expect(await Promise.all(waiting)).toEqual([
    { entryId: 'e-z', balance: 110 },
    { entryId: 'e-c', balance: 111 },
    { entryId: 'e-c', balance: 123 },
    { entryId: 'e-m', balance: 113 },
  ])
})

test('a user with no row back would pass the limit: null for that charge only', async () => {
  const db = fakeDatabase()
  const batches = chargeBatches(db.sql, 1000)
  void batches.charge('x', 1)
  void batches.charge('y', 1)
  await endOfTurn()
  const both = [batches.charge('rich', 900), batches.charge('poor', 5)]
  db.credit(0, () => 1)
  await Bun.sleep(0)
  db.batches[2]!.answer([{ entry_id: 'e-poor', user_id: 'poor', balance: 5 }])
  expect(await Promise.all(both)).toEqual([null, { entryId: 'e-poor', balance: 5 }])
})

test('a statement Postgres refused is tried again charge by charge, so its error stays with the charge it concerns', async () => {
  const db = fakeDatabase()
  const batches = chargeBatches(db.sql, 1000)
  void batches.charge('x', 1)
  void batches.charge('y', 1)
  await endOfTurn()
  const calls = [batches.charge('good', 1), batches.charge('bad', 1)]
  db.credit(0, () => 1)
  await Bun.sleep(0)
  db.batches[2]!.answer(postgresError('refused'))
  await Bun.sleep(0)
  expect(db.batches.slice(3).map((b) => b.users)).toEqual([['bad'], ['good']])
  db.credit(3 + db.batches.slice(3).findIndex((b) => b.users[0] === 'good'), () => 7)
  db.batches[3 + db.batches.slice(3).findIndex((b) => b.users[0] === 'bad')]!.answer(postgresError('bad row'))
  const [good, bad] = await Promise.allSettled(calls)
  expect(good).toEqual({ status: 'fulfilled', value: { entryId: 'e-good', balance: 7 } })
  expect(bad).toMatchObject({ status: 'rejected', reason: { message: 'bad row' } })
})

test('a broken connection fails every charge of its batch, none tried again (it may have committed)', async () => {
  const db = fakeDatabase()
  const batches = chargeBatches(db.sql, 1000)
  void batches.charge('x', 1)
  void batches.charge('y', 1)
  await endOfTurn()
  const calls = [batches.charge('p', 1), batches.charge('q', 1)]
  db.credit(0, () => 1)
  await Bun.sleep(0)
  db.batches[2]!.answer(new Error('connection closed'))
  const settled = await Promise.allSettled(calls)
  expect(settled.map((s) => s.status)).toEqual(['rejected', 'rejected'])
  await Bun.sleep(0)
  expect(db.batches).toHaveLength(3)
})

onEachDatabase('charge batches on a real database', {}, (ctx) => {
  test('a burst of charges (the same user several times, odd user ids, one past the limit) credits each exactly once', async () => {
    const batches = chargeBatches(ctx.db.sql, 1000)
    const users = ['cb-plain', 'cb-"quoted", {braced}', 'cb-back\\slash', 'cb-한글 😀', 'cb-plain', 'cb-plain']
    const answers = await Promise.all([...users.map((u) => batches.charge(u, 100)), batches.charge('cb-over', 1001)])
    expect(answers.at(-1)).toBeNull()
    expect(answers.slice(0, -1).every((a) => a !== null)).toBe(true)
    expect(answers.filter((a) => a && a.balance === 300)).toHaveLength(1) // cb-plain, third charge
    const rows = await ctx.db.sql`
      select b.user_id, b.balance, (select sum(amount)::bigint from ledger l where l.user_id = b.user_id) as ledger,
        (select count(*)::int from ledger l where l.user_id = b.user_id) as entries
      from balances b where b.user_id like 'cb-%' order by b.user_id`
    expect(rows.map((r) => [r.user_id, r.balance, r.ledger, r.entries])).toEqual(
      [...new Set(users)].sort().map((u) => [u, u === 'cb-plain' ? 300 : 100, u === 'cb-plain' ? 300 : 100, u === 'cb-plain' ? 3 : 1]),
    )
  })
})
