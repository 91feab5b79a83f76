import type { Sql } from '../db/client'
import { advisoryLocks } from '../db/locks'
import { reads, statements, theRow } from '../db/statements'
import { ServiceError } from '../errors'
import { fingerprint, outcomeOfOneCall, problemTemplates, type OneCallAnswer, type Outcome } from '../idempotency/idempotency'
import { decodeCursor, encodeCursor } from '../http/pages'
import { chargeBatches, type Credited } from './charge-batches'

import type { Charge, LedgerEntry, LedgerPage } from './model'

const q = statements('balance', ['charge_once'])
const read = reads('balance', ['get_balance', 'history'])

// The problem a keyed charge decides itself and stores under its Idempotency-Key; charge_once adds the detail.
const storedProblems = problemTemplates(['BALANCE_LIMIT'])

export interface MoneyRules {
  maxBalance: number
}

export function balance(sql: Sql, rules: MoneyRules) {
  const batches = chargeBatches(sql, rules.maxBalance)

  function charged(credited: Credited | null, amount: number): Charge {
    if (!credited) throw new ServiceError('BALANCE_LIMIT', `A balance cannot exceed ${rules.maxBalance}`)
    return { chargeId: credited.entryId, amount, balance: credited.balance }
  }

  return {
    async get(userId: string): Promise<number> {
      const row = theRow(await read.get_balance<{ balance: number }>(sql, [userId]), 'get_balance')
      return row.balance
    },

    /** Adds `amount` won to the balance, once per Idempotency-Key; 422 BALANCE_LIMIT past MAX_BALANCE. */
    async chargeOnce(userId: string, amount: number, idempotencyKey: string | undefined): Promise<Outcome> {
      // Without a key nothing is remembered, so the charge may share a statement with others (charge-batches.ts).
      if (idempotencyKey === undefined) return { status: 201, body: charged(await batches.charge(userId, amount), amount), replayed: false }
      // With one, the charge and its answer are one call of charge_once (sql/functions/charge_once.sql).
      const request = { userId, key: idempotencyKey, fingerprint: fingerprint('charge', { amount }) }
      const row = theRow(
        await q.charge_once<OneCallAnswer>(sql, [
          userId,
          idempotencyKey,
          request.fingerprint,
          advisoryLocks.idempotencyKeys,
          storedProblems,
          crypto.randomUUID(),
          amount,
          rules.maxBalance,
        ]),
        'charge_once',
      )
      return outcomeOfOneCall(request, row)
    },

    async history(userId: string, limit: number, cursor: string | undefined): Promise<LedgerPage> {
      const rows = await read.history<{
        entry_id: string
        kind: 'CHARGE' | 'PAYMENT'
        amount: number
        balance_after: number
        reservation_id: string | null
        payment_id: string | null
        created_at: Date
      }>(sql, [userId, decodeCursor(cursor), limit + 1])
      const page = rows.slice(0, limit)
      const entries: LedgerEntry[] = page.map((r) => ({
        entryId: r.entry_id,
        type: r.kind,
        amount: r.amount,
        balanceAfter: r.balance_after,
        reservationId: r.reservation_id,
        paymentId: r.payment_id,
        createdAt: r.created_at.toISOString(),
      }))
      return { entries, nextCursor: rows.length > limit ? encodeCursor(page[page.length - 1]!.entry_id) : null }
    },
  }
}

export type Balance = ReturnType<typeof balance>
