import postgres from 'postgres'
import type { Sql } from '../../../src/db/client'

// The bench never touches user data: each app instance group gets a database of its own on the configured
// server, created here and dropped at the end (also on Ctrl-C).

export interface BenchDatabase {
  name: string
  url: string
  drop(): Promise<void>
}

const created = new Set<BenchDatabase>()

export async function createBenchDatabase(serverUrl: string, label: string): Promise<BenchDatabase> {
  const name = `cwr_bench_${Date.now().toString(36)}_${label.replace(/[^a-z0-9]/g, '_')}`
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} })
  try {
    await admin.unsafe(`create database ${name}`)
  } finally {
    await admin.end()
  }
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  const db: BenchDatabase = {
    name,
    url: url.toString(),
    async drop() {
      created.delete(db)
      const admin = postgres(serverUrl, { max: 1, onnotice: () => {} })
      try {
        await admin.unsafe(`drop database if exists ${name} with (force)`)
      } finally {
        await admin.end()
      }
    },
  }
  created.add(db)
  return db
}

export async function dropAllBenchDatabases() {
  for (const db of [...created]) await db.drop().catch(() => {})
}

export async function serverVersion(serverUrl: string): Promise<string> {
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} })
  try {
    const [row] = await admin`show server_version`
    return String(row!.server_version).split(' ')[0]!
  } finally {
    await admin.end()
  }
}

export interface Invariants {
  /** Seats with more than one PAID reservation, or SOLD without exactly their one PAID reservation. */
  seatsSoldTwice: number
  soldSeatMismatch: number
  /** PAID reservations without exactly one PAYMENT ledger entry; payment entries without a PAID reservation. */
  paidWithoutOneDebit: number
  debitsWithoutSale: number
  /** Balances that differ from the sum of their ledger; ledger users without a balance row. */
  balanceLedgerMismatch: number
  negativeBalances: number
  paidReservations: number
  soldSeats: number
}

export const violations = (i: Invariants) =>
  i.seatsSoldTwice + i.soldSeatMismatch + i.paidWithoutOneDebit + i.debitsWithoutSale + i.balanceLedgerMismatch + i.negativeBalances

/** The money and seat invariants of PRODUCT.md, checked over the whole bench database. */
export async function checkInvariants(sql: Sql): Promise<Invariants> {
  const [row] = await sql.unsafe(`
    select
      (select count(*) from (
         select 1 from reservations where status = 'PAID' group by schedule_id, seat_number having count(*) > 1
       ) x) as seats_sold_twice,
      (select count(*) from seats s
       where s.status = 'SOLD' and not exists (
         select 1 from reservations r
         where r.reservation_id = s.reservation_id and r.status = 'PAID'
           and r.schedule_id = s.schedule_id and r.seat_number = s.seat_number))
      + (select count(*) from reservations r
         where r.status = 'PAID' and not exists (
           select 1 from seats s
           where s.schedule_id = r.schedule_id and s.seat_number = r.seat_number
             and s.status = 'SOLD' and s.reservation_id = r.reservation_id)) as sold_seat_mismatch,
      (select count(*) from reservations r
       left join (
         select reservation_id, count(*) as n from ledger where kind = 'PAYMENT' group by reservation_id
       ) d using (reservation_id)
       where r.status = 'PAID' and coalesce(d.n, 0) <> 1) as paid_without_one_debit,
      (select count(*) from ledger l
       where l.kind = 'PAYMENT'
         and not exists (select 1 from reservations r where r.reservation_id = l.reservation_id and r.status = 'PAID')
      ) as debits_without_sale,
      (select count(*) from (
         select coalesce(b.user_id, l.user_id) as user_id
         from balances b
         full join (select user_id, sum(amount) as total from ledger group by user_id) l using (user_id)
         where b.balance is distinct from l.total and not (b.balance = 0 and l.total is null)
       ) x) as balance_ledger_mismatch,
      (select count(*) from balances where balance < 0) as negative_balances,
      (select count(*) from reservations where status = 'PAID') as paid_reservations,
      (select count(*) from seats where status = 'SOLD') as sold_seats
  `)
  return {
    seatsSoldTwice: Number(row!.seats_sold_twice),
    soldSeatMismatch: Number(row!.sold_seat_mismatch),
    paidWithoutOneDebit: Number(row!.paid_without_one_debit),
    debitsWithoutSale: Number(row!.debits_without_sale),
    balanceLedgerMismatch: Number(row!.balance_ledger_mismatch),
    negativeBalances: Number(row!.negative_balances),
    paidReservations: Number(row!.paid_reservations),
    soldSeats: Number(row!.sold_seats),
  }
}
