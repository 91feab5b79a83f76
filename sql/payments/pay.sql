-- name: pay :one
-- The payment, as one statement inside a transaction. Each step reads the one before, so row locks are
-- always taken in the same order - reservation, then seat, then balance - and payments cannot deadlock.
-- When a step finds nothing, the steps after it do nothing either; the caller sees which step stopped
-- (paid/seat_sold/balance) and rolls the transaction back unless a payment row came out.
-- $1 payment_id, $2 ledger entry_id, $3 reservation_id, $4 user_id, $5 concert_id of the queue session
with reservation as (
  update reservations set status = 'PAID', ended_at = now()
  where reservation_id = $3::uuid and user_id = $4::text and concert_id = $5::uuid
    and status = 'HELD' and expires_at > now()
  returning reservation_id, concert_id, schedule_id, seat_number, price
), seat as (
  update seats s set status = 'SOLD', hold_expires_at = null
  from reservation r
  where s.schedule_id = r.schedule_id and s.seat_number = r.seat_number
    and s.reservation_id = r.reservation_id and s.status = 'HELD'
  returning s.schedule_id
), debit as (
  update balances b set balance = b.balance - r.price, updated_at = now()
  from reservation r, seat
  where b.user_id = $4::text and b.balance >= r.price
  returning b.balance
), entry as (
  insert into ledger (entry_id, user_id, kind, amount, balance_after, reservation_id)
  select $2::uuid, $4::text, 'PAYMENT', -r.price, d.balance, r.reservation_id
  from reservation r, debit d
  returning entry_id
), payment as (
  insert into payments (payment_id, reservation_id, user_id, amount, ledger_entry)
  select $1::uuid, r.reservation_id, $4::text, r.price, e.entry_id
  from reservation r, entry e
  returning payment_id
)
select
  r.reservation_id is not null as paid,
  (select count(*) from seat) = 1 as seat_sold,
  r.price,
  (select balance from debit) as balance,
  (select payment_id from payment) as payment_id,
  (select count(*) from reservations o
   where o.user_id = $4::text and o.concert_id = $5::uuid and o.status = 'HELD' and o.expires_at > now()
     and o.reservation_id <> $3::uuid) as other_live_holds
from (select 1) one
left join reservation r on true
