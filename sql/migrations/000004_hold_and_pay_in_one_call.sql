-- The seat hold and the payment, each as one call: the round trips of a client transaction (BEGIN,
-- statements, COMMIT) were most of their cost (measured: hold 1,350 -> 2,300 per second, pay
-- 1,430 -> 2,030, 64 in flight, pool 10, on the 2-core box). The decisions stay single conditional statements.

-- The seat hold as one call. A hold needs two statements in order: first the user's row lock (so one
-- user's concurrent holds count their live holds one at a time), then the conditional UPDATE of the
-- seat with a snapshot taken after that lock. Sent as a client transaction that was four round trips
-- (BEGIN, lock, hold, COMMIT); as a function it is one, in one implicit transaction. In a VOLATILE
-- plpgsql function every statement takes a fresh snapshot, so the count sees every hold the user
-- committed before the lock was granted.
create function hold_seat(
  p_reservation_id uuid, p_user_id text, p_schedule_id uuid, p_seat_number int, p_ttl_seconds int, p_max_holds int
) returns table (
  reservation_id uuid, schedule_id uuid, seat_number int, price bigint, status text,
  expires_at timestamptz, created_at timestamptz, live_holds bigint, seat_exists boolean
) language plpgsql volatile as $$
begin
  -- ON CONFLICT DO UPDATE locks the conflicting row even when its WHERE is false: a lock, no write.
  insert into users as u (user_id) values (p_user_id)
  on conflict (user_id) do update set user_id = excluded.user_id where false;

  return query
  with live as (
    select count(*) as n from reservations r
    where r.user_id = p_user_id and r.status = 'HELD' and r.expires_at > now()
  ), seat as (
    -- The race for the seat: one conditional UPDATE. A lapsed hold is as good as AVAILABLE.
    update seats s
    set status = 'HELD', reservation_id = p_reservation_id, hold_expires_at = now() + make_interval(secs => p_ttl_seconds)
    where s.schedule_id = p_schedule_id and s.seat_number = p_seat_number
      and (s.status = 'AVAILABLE' or (s.status = 'HELD' and s.hold_expires_at <= now()))
      and (select n from live) < p_max_holds
    returning s.schedule_id, s.seat_number, s.price, s.hold_expires_at
  ), made as (
    insert into reservations as r (reservation_id, user_id, concert_id, schedule_id, seat_number, price, status, expires_at)
    select p_reservation_id, p_user_id, sc.concert_id, seat.schedule_id, seat.seat_number, seat.price, 'HELD', seat.hold_expires_at
    from seat join schedules sc on sc.schedule_id = seat.schedule_id
    returning r.reservation_id, r.schedule_id, r.seat_number, r.price, r.status, r.expires_at, r.created_at
  )
  select m.reservation_id, m.schedule_id, m.seat_number, m.price, m.status, m.expires_at, m.created_at,
    (select n from live),
    exists (select 1 from seats x where x.schedule_id = p_schedule_id and x.seat_number = p_seat_number)
  from (select 1) one
  left join made m on true;
end
$$;

-- The payment as one call. Each step of the statement reads the one before, so row locks are always
-- taken in the same order - reservation, then seat, then balance - and payments cannot deadlock. When
-- the reservation is not payable nothing has changed and the row says so (paid = false). When a later
-- step finds nothing (the seat is no longer this hold's, or the balance is short), the call raises
-- P0001 with the reason as its message, which undoes the earlier steps: all or nothing.
create function pay_reservation(
  p_payment_id uuid, p_entry_id uuid, p_reservation_id uuid, p_user_id text, p_concert_id uuid
) returns table (paid boolean, price bigint, balance bigint, payment_id uuid, other_live_holds bigint)
language plpgsql volatile as $$
declare
  v record;
begin
  with reservation as (
    update reservations r set status = 'PAID', ended_at = now()
    where r.reservation_id = p_reservation_id and r.user_id = p_user_id and r.concert_id = p_concert_id
      and r.status = 'HELD' and r.expires_at > now()
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
    (select count(*) from reservations o
     where o.user_id = p_user_id and o.concert_id = p_concert_id and o.status = 'HELD' and o.expires_at > now()
       and o.reservation_id <> p_reservation_id) as other_live_holds
  into v
  from (select 1) one
  left join reservation r on true;

  if v.paid and v.payment_id is null then
    if not v.seat_sold then
      raise exception 'HOLD_EXPIRED' using errcode = 'P0001';
    end if;
    raise exception 'INSUFFICIENT_BALANCE' using errcode = 'P0001', detail = v.price::text;
  end if;
  return query select v.paid, v.price, v.balance, v.payment_id, v.other_live_holds;
end
$$;
