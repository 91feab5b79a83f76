-- The payment as one call. It first takes the user's row lock (as holds and cancels do), so that whether
-- the user has another live hold in the concert - which decides whether the queue session ends - is read
-- after every other hold, payment and cancel of this user committed: two payments at once cannot both see
-- the other's hold as still live (ends_session); a later hold of that session is refused
-- (sql/functions/hold_seats.sql). Then each step of the statement reads the one before, so
-- row locks are always taken in the same order - user, reservation, seat, balance - and payments
-- cannot deadlock. When the reservation is not payable nothing has changed and the row says so
-- (paid = false). When a later step finds nothing (the seat is no longer this hold's, or the balance is
-- short), the call raises a decline (SQLSTATE CW001 the hold lapsed, CW002 the balance is short; class CW,
-- "concert waiting room", is outside every class Postgres itself uses), which undoes the earlier steps: all
-- or nothing. Its one caller, pay_once (sql/functions/pay_once.sql), turns each into its answer.
-- In a batch of payments (p_wait false) the reservation's row is not waited for, so that a batch cannot
-- close a cycle of waits with the lapse job (which locks reservations, then their seats; why and what a
-- batch may still wait for: sql/functions/pay_many.sql). A payment whose reservation another transaction
-- has locked changes nothing and answers `contended`: the caller asks it again alone, waiting, as a
-- payment alone always did.
-- Plans: generic, with seq scans off (why: sql/functions/hold_seats.sql).
create or replace function pay_reservation(
  p_payment_id uuid, p_entry_id uuid, p_reservation_id uuid, p_user_id text, p_concert_id uuid, p_wait boolean
) returns table (paid boolean, price bigint, balance bigint, payment_id uuid, ends_session boolean, contended boolean)
language plpgsql volatile set plan_cache_mode = force_generic_plan set enable_seqscan = off as $$
declare
  v record;
begin
  perform 1 from users u where u.user_id = p_user_id for update;
  if not p_wait then
    perform 1 from reservations r where r.reservation_id = p_reservation_id for update skip locked;
    if not found and exists (select 1 from reservations r where r.reservation_id = p_reservation_id) then
      return query select false, null::bigint, null::bigint, null::uuid, false, true;
      return;
    end if;
  end if;

  with reservation as (
    update reservations r set status = 'PAID', ended_at = now()
    where r.reservation_id = p_reservation_id and r.user_id = p_user_id and r.concert_id = p_concert_id
      and hold_is_live(r.status, r.expires_at)
    returning r.reservation_id, r.concert_id, r.schedule_id, r.seat_number, r.price
  ), seat as (
    update seats s set status = 'SOLD', hold_expires_at = null
    from reservation r
    where s.schedule_id = r.schedule_id and s.seat_number = r.seat_number
      and s.reservation_id = r.reservation_id and s.status = 'HELD'
    returning s.schedule_id
  ), debit as (
    update balances b set balance = b.balance - r.price, updated_at = now()
    from reservation r, seat
    where b.user_id = p_user_id and b.balance >= r.price
    returning b.balance
  ), entry as (
    insert into ledger (entry_id, user_id, kind, amount, balance_after, reservation_id)
    select p_entry_id, p_user_id, 'PAYMENT', -r.price, d.balance, r.reservation_id
    from reservation r, debit d
    returning ledger.entry_id
  ), payment as (
    insert into payments (payment_id, reservation_id, user_id, amount, ledger_entry)
    select p_payment_id, r.reservation_id, p_user_id, r.price, e.entry_id
    from reservation r, entry e
    returning payments.payment_id
  )
  select
    r.reservation_id is not null as paid,
    (select count(*) from seat) = 1 as seat_sold,
    r.price,
    (select d.balance from debit d) as balance,
    (select p.payment_id from payment p) as payment_id,
    not exists (
      select 1 from reservations o
      where o.user_id = p_user_id and o.concert_id = p_concert_id and hold_is_live(o.status, o.expires_at)
        and o.reservation_id <> p_reservation_id) as ends_session
  into v
  from (select 1) one
  left join reservation r on true;

  if v.paid and v.payment_id is null then
    if not v.seat_sold then
      raise exception 'the hold has lapsed' using errcode = 'CW001';
    end if;
    raise exception 'the balance is lower than the price' using errcode = 'CW002', detail = v.price::text;
  end if;
  return query select v.paid, v.price, v.balance, v.payment_id, coalesce(v.ends_session, false), false;
end
$$;
