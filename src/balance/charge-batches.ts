import type { Sql } from '../db/client'
import { statements } from '../db/statements'

const q = statements('balance', ['charge_many'])

// Charges without an Idempotency-Key go to the database in batches: while BATCHES_IN_FLIGHT statements
// are running, charges that arrive wait and leave together as the next one (at most BATCH_LIMIT users,
// each once). A charge that finds room leaves at once, so a lone charge is never delayed; under load many
// charges share one round trip and one commit (one WAL flush) instead of each paying its own.
const BATCHES_IN_FLIGHT = 2
const BATCH_LIMIT = 200

export interface Credited {
  entryId: string
  balance: number
}

interface Pending {
  userId: string
  amount: number
  entryId: string
  resolve: (credited: Credited | null) => void
  reject: (error: unknown) => void
}

/**
 * `charge(userId, amount)` adds the amount to the user's balance with its ledger entry; it resolves to the
 * entry and the new balance, or null when the balance would pass `maxBalance` (nothing changed).
 */
export function chargeBatches(sql: Sql, maxBalance: number) {
  const waiting: Pending[] = []
  let inFlight = 0

  function next(): Pending[] {
    const users = new Set<string>()
    const batch: Pending[] = []
    const later: Pending[] = []
    for (const p of waiting) {
      if (batch.length < BATCH_LIMIT && !users.has(p.userId)) {
        users.add(p.userId)
        batch.push(p)
      } else later.push(p)
    }
    waiting.length = 0
    waiting.push(...later)
    return batch.sort((a, b) => (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0))
  }

  async function run(batch: Pending[]) {
    inFlight++
    try {
      const rows = await q.charge_many<{ entry_id: string; user_id: string; balance: number }>(sql, [
        batch.map((p) => p.entryId),
        batch.map((p) => p.userId),
        batch.map((p) => p.amount),
        maxBalance,
      ])
      const byUser = new Map(rows.map((r) => [r.user_id, r]))
      for (const p of batch) {
        const row = byUser.get(p.userId)
        p.resolve(row ? { entryId: row.entry_id, balance: row.balance } : null)
      }
    } catch (error) {
      // Postgres refused the statement, so none of it committed: each charge is tried alone, and an
      // error stays with the charge it concerns. Any other failure (the connection broke) leaves it
      // unknown whether the batch committed; every charge of it fails, as a single one would.
      if (batch.length > 1 && isRefusedByPostgres(error)) for (const p of batch) run([p])
      else for (const p of batch) p.reject(error)
    } finally {
      inFlight--
      if (waiting.length > 0 && inFlight < BATCHES_IN_FLIGHT) void run(next())
    }
  }

  return {
    charge(userId: string, amount: number): Promise<Credited | null> {
      return new Promise((resolve, reject) => {
        waiting.push({ userId, amount, entryId: crypto.randomUUID(), resolve, reject })
        if (inFlight < BATCHES_IN_FLIGHT) void run(next())
      })
    },
  }
}

function isRefusedByPostgres(error: unknown): boolean {
  return (error as { name?: unknown })?.name === 'PostgresError'
}
