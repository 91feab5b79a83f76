import type { Sql } from '../db/client'
import { advisoryLocks } from '../db/locks'
import { statements } from '../db/statements'
import type { Catalogue } from './catalogue'
import type { NewConcert } from './model'

// Demo concerts loaded into an empty database when SEED_DEMO is on (the embedded default), so that a
// newcomer can walk the whole booking path right after `bun run start`.
export const demoConcerts: NewConcert[] = [
  {
    title: 'Aurora Live in Seoul',
    schedules: [
      { startsAt: '2027-03-14T19:00:00+09:00', seatCount: 50, price: 150_000 },
      { startsAt: '2027-03-15T19:00:00+09:00', seatCount: 50, price: 150_000 },
    ],
  },
  {
    title: 'Midnight Orchestra',
    schedules: [{ startsAt: '2027-04-02T20:00:00+09:00', seatCount: 200, price: 99_000 }],
  },
]

const q = statements('setup', ['lock_seed'])

export async function seedDemo(sql: Sql, catalogue: Catalogue): Promise<boolean> {
  return sql.begin(async (tx) => {
    await q.lock_seed(tx, [advisoryLocks.demoSeed])
    if (!(await catalogue.isEmpty(tx))) return false
    for (const concert of demoConcerts) await catalogue.createConcert(concert, tx)
    return true
  }) as Promise<boolean>
}
