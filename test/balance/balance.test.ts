import { expect, test } from 'bun:test'
import { call, onEachDatabase } from '../support/app'
import { userToken } from '../support/scenario'
import { problemBody } from '../../src/http/problems'

onEachDatabase('balance and ledger', { MAX_CHARGE: '1000', MAX_BALANCE: '2500' }, (ctx, kind) => {
  const user = async (id: string) => ({ token: await userToken(ctx.server, id) })
  const chargeOf = (u: { token: string }, amount: unknown) => call(ctx.server, '/v1/balance/charges', { ...u, body: { amount } })

  test('a user never seen has a balance of 0', async () => {
    expect((await call(ctx.server, '/v1/balance', await user('b-new'))).body).toEqual({ balance: 0 })
  })

  test('a charge adds to the balance and answers with its id', async () => {
    const alice = await user('b-alice')
    const first = await chargeOf(alice, 1000)
    expect(first.status).toBe(201)
    expect(first.body).toEqual({ chargeId: expect.stringMatching(/^[0-9a-f-]{36}$/), amount: 1000, balance: 1000 })
    expect((await chargeOf(alice, 1)).body.balance).toBe(1001)
    expect((await call(ctx.server, '/v1/balance', alice)).body.balance).toBe(1001)
  })

  test.each([[0], [-1], [1.5], [1001], [2 ** 53], ['100'], [null], [true], [[100]], [{ n: 1 }], ['NaN']])(
    'a charge of %p is rejected with 400 and stores nothing',
    async (amount) => {
      const alice = await user(`b-bad-${JSON.stringify(amount)}`)
      const reply = await chargeOf(alice, amount)
      expect(reply.status).toBe(400)
      expect(reply.body.code).toBe('VALIDATION_FAILED')
      expect((await call(ctx.server, '/v1/balance', alice)).body.balance).toBe(0)
    },
  )

  test('a charge that would pass MAX_BALANCE: 422 BALANCE_LIMIT, nothing changes', async () => {
    const alice = await user('b-rich')
    await chargeOf(alice, 1000)
    await chargeOf(alice, 1000)
    const over = await chargeOf(alice, 501)
    expect(over.status).toBe(422)
    expect(over.body.code).toBe('BALANCE_LIMIT')
    expect((await chargeOf(alice, 500)).body.balance).toBe(2500)
    const [row] = await ctx.db.sql`select count(*)::int as n, sum(amount)::int as total from ledger where user_id = 'b-rich'`
    expect(row).toEqual({ n: 3, total: 2500 })
  })

  test('a keyed charge past MAX_BALANCE stores its 422: the same problem replays byte for byte, nothing credited', async () => {
    const alice = await user('b-rich-keyed')
    const keyed = (amount: number, key: string) =>
      call(ctx.server, '/v1/balance/charges', { ...alice, body: { amount }, headers: { 'idempotency-key': key } })
    expect((await keyed(1000, 'k1')).status).toBe(201)
    expect((await keyed(1000, 'k2')).status).toBe(201)
    const over = await keyed(501, 'k3')
    const replay = await keyed(501, 'k3')
    expect([over.status, over.headers.get('content-type')]).toEqual([422, 'application/problem+json'])
    expect(over.text).toBe(JSON.stringify(problemBody('BALANCE_LIMIT', 'A balance cannot exceed 2500')))
    expect([replay.status, replay.text, replay.headers.get('idempotent-replayed')]).toEqual([422, over.text, 'true'])
    // The key keeps its answer even once the charge would fit: send a new key to try again.
    expect((await keyed(1, 'k-small')).status).toBe(201)
    expect((await keyed(501, 'k3')).status).toBe(422)
    const [row] = await ctx.db.sql`select count(*)::int as n, sum(amount)::int as total from ledger where user_id = 'b-rich-keyed'`
    expect(row).toEqual({ n: 3, total: 2001 })
  })

  test('a keyed charge answers as an unkeyed one does: the same fields, in the same order', async () => {
    const keyed = await call(ctx.server, '/v1/balance/charges', { ...(await user('b-keyed-shape')), body: { amount: 7 }, headers: { 'idempotency-key': 'shape' } })
    const plain = await chargeOf(await user('b-plain-shape'), 7)
    expect([keyed.status, plain.status]).toEqual([201, 201])
    expect(Object.keys(keyed.body)).toEqual(Object.keys(plain.body))
    expect({ ...keyed.body, chargeId: 'x' }).toEqual({ ...plain.body, chargeId: 'x' })
  })

  test('the history lists every entry newest first, a page at a time', async () => {
    const alice = await user('b-history')
    for (const amount of [1, 2, 3, 4, 5]) await chargeOf(alice, amount)
    const page1 = await call(ctx.server, '/v1/balance/history?limit=2', alice)
    expect(page1.body.entries.map((e: { amount: number }) => e.amount)).toEqual([5, 4])
    expect(page1.body.entries[0]).toMatchObject({ type: 'CHARGE', balanceAfter: 15, reservationId: null, paymentId: null })
    const page2 = await call(ctx.server, `/v1/balance/history?limit=2&cursor=${page1.body.nextCursor}`, alice)
    const page3 = await call(ctx.server, `/v1/balance/history?limit=2&cursor=${page2.body.nextCursor}`, alice)
    expect(page2.body.entries.map((e: { amount: number }) => e.amount)).toEqual([3, 2])
    expect(page3.body).toEqual({ entries: [expect.objectContaining({ amount: 1 })], nextCursor: null })
  })

  test("the history is the user's own: another user sees none of it", async () => {
    await chargeOf(await user('b-owner'), 10)
    expect((await call(ctx.server, '/v1/balance/history', await user('b-other'))).body).toEqual({ entries: [], nextCursor: null })
  })

  test("a history cursor names the user's own entry, not its place in everyone's ledger; another user's reads as an empty page", async () => {
    const alice = await user('b-cursor')
    for (const amount of [1, 2, 3]) await chargeOf(alice, amount)
    const page1 = await call(ctx.server, '/v1/balance/history?limit=2', alice)
    // helper-58: the cursor was the ledger's sequence ("l200"), which told a user how many entries all users
    // had; it is the entry's own id and nothing else. (Not a check that the sequence's digits are absent:
    // a random id holds them now and then.)
    expect(Buffer.from(page1.body.nextCursor, 'base64url').toString()).toBe(`i${page1.body.entries[1].entryId}`)
    const [seq] = await ctx.db.sql`select entry_seq from ledger where entry_id = ${page1.body.entries[1].entryId}`
    const bob = await user('b-cursor-other')
    await chargeOf(bob, 9)
    expect((await call(ctx.server, `/v1/balance/history?cursor=${page1.body.nextCursor}`, bob)).body).toEqual({ entries: [], nextCursor: null })
    // A cursor of the old form is not one this API returns any more.
    const old = Buffer.from(`l${seq!.entry_seq}`).toString('base64url')
    expect((await call(ctx.server, `/v1/balance/history?cursor=${old}`, alice)).body.code).toBe('VALIDATION_FAILED')
  })

  test('page sizes are capped and cursors must be ours', async () => {
    const alice = await user('b-pages')
    expect((await call(ctx.server, '/v1/balance/history?limit=101', alice)).status).toBe(400)
    expect((await call(ctx.server, '/v1/balance/history?limit=0', alice)).status).toBe(400)
    expect((await call(ctx.server, '/v1/balance/history?cursor=bm9wZQ', alice)).body.code).toBe('VALIDATION_FAILED')
  })

  test('a cursor is taken only as the API spelled it (helper-59: padding, spaces and a NUL named the same entry)', async () => {
    const alice = await user('b-spelling')
    for (const amount of [1, 2]) await chargeOf(alice, amount)
    const cursor = (await call(ctx.server, '/v1/balance/history?limit=1', alice)).body.nextCursor as string
    expect((await call(ctx.server, `/v1/balance/history?cursor=${cursor}`, alice)).body.entries).toHaveLength(1)
    for (const spelling of [` ${cursor}`, `${cursor} `, `${cursor}\0`, `${cursor}+`, `${cursor}=`, `${cursor}==`, `${cursor}\n`]) {
      const reply = await call(ctx.server, `/v1/balance/history?cursor=${encodeURIComponent(spelling)}`, alice)
      expect(reply.status, JSON.stringify(spelling)).toBe(400)
      expect(reply.body.code).toBe('VALIDATION_FAILED')
    }
  })

  // On a server only: the embedded database has one connection, which the open transaction would hold.
  if (kind === 'postgres') test("an entry's time is when it was written, so a user's times follow the entries' order (helper-59)", async () => {
    // A batch of charges locks its users one after another: a batch begun earlier could write a user's
    // entry after a later one did, and with its transaction's start as the time, the newer entry read
    // older (2 of 60 pairs, 10-80 ms). Here a transaction begins, another entry is written meanwhile, and
    // the first one's entry, written after it, must not read older. Rolled back: the ledger stays whole.
    const alice = await user('b-times')
    const rolledBack = new Error('rolled back')
    let later: Date | null = null
    await ctx.db.sql
      .begin(async (tx) => {
        await tx`select now()` // the transaction has begun; now() is fixed from here
        await Bun.sleep(20)
        expect((await chargeOf(alice, 5)).status).toBe(201)
        const [row] = await tx`
          insert into ledger (entry_id, user_id, kind, amount, balance_after)
          values (gen_random_uuid(), 'b-times', 'CHARGE', 1, 6) returning created_at`
        later = row!.created_at as Date
        throw rolledBack
      })
      .catch((error) => {
        if (error !== rolledBack) throw error
      })
    const [written] = (await call(ctx.server, '/v1/balance/history', alice)).body.entries
    expect(later!.getTime()).toBeGreaterThanOrEqual(Date.parse(written.createdAt))
  })

  test('every balance equals the sum of its ledger', async () => {
    const [row] = await ctx.db.sql`
      select count(*)::int as mismatches from balances b
      where b.balance <> (select coalesce(sum(amount), 0) from ledger l where l.user_id = b.user_id)`
    expect(row!.mismatches).toBe(0)
  })
})
