import type { Sql } from '../db/client'
import { groupCommit } from '../db/group-commit'
import { notRefusedByPostgres, statements } from '../db/statements'

const q = statements('balance', ['charge_many'])

export interface Credited {
  entryId: string
  balance: number
}

interface Charge {
  userId: string
  amount: number
  entryId: string
}

/**
 * `charge(userId, amount)` adds the amount to the user's balance with its ledger entry; it resolves to the
 * entry and the new balance, or null when the balance would pass `maxBalance` (nothing changed). Charges
 * without an Idempotency-Key share statements under load (src/db/group-commit.ts).
 */
export function chargeBatches(sql: Sql, maxBalance: number) {
  const charges = groupCommit<Charge, Credited | null>(
    async (_, batch) => {
      const rows = await q.charge_many<{ entry_id: string; user_id: string; balance: number }>(sql, [
        batch.map((c) => c.entryId),
        batch.map((c) => c.userId),
        batch.map((c) => c.amount),
        maxBalance,
      ])
      const byUser = new Map(rows.map((r) => [r.user_id, r]))
      return batch.map((c) => {
        const row = byUser.get(c.userId)
        return row ? { entryId: row.entry_id, balance: row.balance } : null
      })
    },
    { maxBatch: 200, inFlight: 2, userOf: (c) => c.userId, failsAll: notRefusedByPostgres },
  )

  return {
    charge: (userId: string, amount: number) => charges('', { userId, amount, entryId: crypto.randomUUID() }),
  }
}
