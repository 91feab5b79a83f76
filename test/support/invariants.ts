import type { Sql } from '../../src/db/client'

// The invariants of seats and money, checked directly in the database after (or during) a test that
// changes them. Each is a count of violations; all must be zero. They run in one repeatable-read,
// read-only transaction, so a check taken while load is still running sees one consistent snapshot.

export interface Invariants {
  /** Seats with more than one live HELD reservation. */
  seatsHeldTwice: number
  /** Seats with more than one PAID reservation. */
  seatsSoldTwice: number
  /** A seat row and its reservation disagree (SOLD without that PAID reservation, PAID without a SOLD seat, a live hold on a seat held by another). */
  seatStateMismatches: number
  /** PAID reservations without exactly one payment row and exactly one PAYMENT ledger entry of -price. */
  paidWithoutOneDebit: number
  /** Payment rows or PAYMENT ledger entries whose reservation is not PAID (a debit without a sale). */
  debitsWithoutSale: number
  /** Balances that differ from the sum of their ledger (a user with ledger entries and no balance row counts). */
  balancesOffLedger: number
  /** Ledger entries whose balance_after is not the running sum of the user's entries up to them. */
  ledgerChainBreaks: number
  negativeBalances: number
  /** 1 if the sum of balances differs from charges minus payments. */
  conservationBroken: number
  /** Users with more live holds than the cap (when a cap is given). */
  usersOverHoldCap: number
}

export const violations = (i: Invariants) => Object.values(i).reduce((a, b) => a + b, 0)

export async function checkInvariants(sql: Sql, options: { maxHoldsPerUser?: number } = {}): Promise<Invariants> {
  const cap = options.maxHoldsPerUser ?? 2_147_483_647
  return (await sql.begin('isolation level repeatable read read only', async (tx) => {
    const [row] = await tx`
      with live as (
        select * from reservations where status = 'HELD' and expires_at > now()
      )
      select
        (select count(*) from (select 1 from live group by schedule_id, seat_number having count(*) > 1) x)::int as "seatsHeldTwice",
        (select count(*) from (select 1 from reservations where status = 'PAID' group by schedule_id, seat_number having count(*) > 1) x)::int
          as "seatsSoldTwice",
        (
          (select count(*) from seats s where s.status = 'SOLD' and not exists (
            select 1 from reservations r where r.reservation_id = s.reservation_id and r.status = 'PAID'
              and r.schedule_id = s.schedule_id and r.seat_number = s.seat_number))
          + (select count(*) from reservations r where r.status = 'PAID' and not exists (
            select 1 from seats s where s.schedule_id = r.schedule_id and s.seat_number = r.seat_number
              and s.status = 'SOLD' and s.reservation_id = r.reservation_id))
          + (select count(*) from live r where not exists (
            select 1 from seats s where s.schedule_id = r.schedule_id and s.seat_number = r.seat_number
              and s.status = 'HELD' and s.reservation_id = r.reservation_id))
          + (select count(*) from seats s where s.status = 'HELD' and s.hold_expires_at > now() and not exists (
            select 1 from live r where r.reservation_id = s.reservation_id))
        )::int as "seatStateMismatches",
        (select count(*) from reservations r where r.status = 'PAID' and (
          (select count(*) from payments p where p.reservation_id = r.reservation_id and p.amount = r.price) <> 1
          or (select count(*) from ledger l where l.reservation_id = r.reservation_id and l.kind = 'PAYMENT'
                and l.amount = -r.price and l.user_id = r.user_id) <> 1
          or (select count(*) from ledger l where l.reservation_id = r.reservation_id) <> 1
          or not exists (select 1 from payments p join ledger l on l.entry_id = p.ledger_entry
                         where p.reservation_id = r.reservation_id and l.reservation_id = r.reservation_id)
        ))::int as "paidWithoutOneDebit",
        (
          (select count(*) from payments p where not exists (
            select 1 from reservations r where r.reservation_id = p.reservation_id and r.status = 'PAID'))
          + (select count(*) from ledger l where l.kind = 'PAYMENT' and not exists (
            select 1 from reservations r where r.reservation_id = l.reservation_id and r.status = 'PAID'))
        )::int as "debitsWithoutSale",
        (select count(*) from (
          select coalesce(b.user_id, l.user_id) from balances b
          full join (select user_id, sum(amount) as total from ledger group by user_id) l on l.user_id = b.user_id
          where coalesce(b.balance, 0) <> coalesce(l.total, 0)
        ) x)::int as "balancesOffLedger",
        (select count(*) from (
          select balance_after <> sum(amount) over (partition by user_id order by entry_seq) as broken from ledger
        ) x where broken)::int as "ledgerChainBreaks",
        (select count(*) from balances where balance < 0)::int as "negativeBalances",
        (case when coalesce((select sum(balance) from balances), 0)
                 = coalesce((select sum(amount) from ledger where kind = 'CHARGE'), 0) - coalesce((select sum(amount) from payments), 0)
              then 0 else 1 end) as "conservationBroken",
        (select count(*) from (select 1 from live group by user_id having count(*) > ${cap}::int) x)::int as "usersOverHoldCap"
    `
    return row
  })) as unknown as Invariants
}

/** Checks, prints one line (`invariant violations: 0 (...)`) and returns the report. */
export async function reportInvariants(sql: Sql, label: string, options: { maxHoldsPerUser?: number } = {}) {
  const invariants = await checkInvariants(sql, options)
  const total = violations(invariants)
  const broken = Object.entries(invariants).filter(([, n]) => n !== 0)
  console.log(`${label}: invariant violations: ${total}${broken.length ? ` (${broken.map(([k, n]) => `${k} ${n}`).join(', ')})` : ''}`)
  return { invariants, total }
}
