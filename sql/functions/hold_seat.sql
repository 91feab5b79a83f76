-- The seat hold as one call (one round trip, one implicit transaction). A hold needs two steps in order:
-- first the user's row lock, so that one user's concurrent holds, payments and cancels are decided one
-- at a time, then the conditional UPDATE of the seat with a snapshot taken after that lock (in a
-- VOLATILE plpgsql function every statement takes a fresh snapshot, so the count of live holds sees
-- every hold, payment and cancel of this user that committed before the lock was granted).
-- Returns one row: the reservation if the hold was made, else the facts that say why not.
--
-- The commit waits for the disk, as a payment's does: a hold answered 201 can be paid until it lapses
-- (PRODUCT.md), a database crash included. Not waiting would have doubled the holds one connection makes
-- (pgbench, 16 clients: 896-1,105 -> 1,965-2,566 per second) at the price of forgetting, after a crash,
-- holds already answered - seats their holders were told are theirs.
-- Plans: made once per connection (generic) with seq scans off, as the queue functions' are. A plan is
-- kept for the life of a connection, and one made while reservations was small (a new database, the
-- first minute of a sale, before autovacuum analyzes it) scanned the whole table for each lookup by key
-- - the payment's own reservation, the user's live holds, the foreign key checks run inside - long after
-- it had grown: measured on a fresh database (auto_explain), each payment then scanned all of it.
create or replace function hold_seat(
  p_reservation_id uuid, p_user_id text, p_schedule_id uuid, p_seat_number int, p_ttl_seconds int, p_max_holds int,
  p_queue_seq bigint
) returns table (
  reservation_id uuid, schedule_id uuid, seat_number int, price bigint, status text,
  expires_at timestamptz, created_at timestamptz, live_holds bigint, seat_exists boolean, session_ended boolean
) language plpgsql volatile set plan_cache_mode = force_generic_plan set enable_seqscan = off as $$
declare
  v_free boolean;
  v_concert_id uuid;
begin
  -- A seat that is taken is refused from a plain read, before any lock or write. The refusal is as true
  -- as the conditional UPDATE's would be (the seat is HELD or SOLD in this snapshot, and the UPDATE would
  -- find no row to change), but it locks no user row, writes no WAL and has nothing to commit: on a seat
  -- many want at once (a hot seat, the last seats of a sale) most holds are refusals. Which refusal is
  -- answered stays as below: no such seat, then the hold limit, then the seat taken. (Whether a payment
  -- ended the session is not read here: the queue guard before the hold already answered for a session
  -- the store has ended, and a refusal is a refusal either way while a payment is ending it.)
  select s.status = 'AVAILABLE' or hold_has_lapsed(s.status, s.hold_expires_at)
  into v_free
  from seats s where s.schedule_id = p_schedule_id and s.seat_number = p_seat_number;
  if v_free is not true then
    return query select null::uuid, null::uuid, null::int, null::bigint, null::text, null::timestamptz, null::timestamptz,
      (select count(*) from reservations r where r.user_id = p_user_id and hold_is_live(r.status, r.expires_at)),
      v_free is not null, false;
    return;
  end if;

  -- ON CONFLICT DO UPDATE locks the conflicting row even when its WHERE is false: a lock, no write.
  insert into users as u (user_id) values (p_user_id)
  on conflict (user_id) do update set user_id = excluded.user_id where false;

  -- A session that paid ends once the user has no live hold left in the concert (PRODUCT.md): by the
  -- payment or cancel that left none (decided under the lock just taken), or by the last hold's lapse.
  -- The queue store hears of it only afterwards, so a hold that passed the queue guard in between is
  -- refused here: it would otherwise land in a session that is over. So is a session an operator ended
  -- (recorded under the same lock, sql/functions/end_session_holds.sql): an instance that saw it ACTIVE
  -- moments ago does not ask the store before a hold.
  select sc.concert_id into v_concert_id from schedules sc where sc.schedule_id = p_schedule_id;
  if session_has_ended(p_user_id, v_concert_id, p_queue_seq) then
    return query select null::uuid, null::uuid, null::int, null::bigint, null::text, null::timestamptz, null::timestamptz,
      0::bigint, true, true;
    return;
  end if;

  return query
  with live as (
    select count(*) as n from reservations r
    where r.user_id = p_user_id and hold_is_live(r.status, r.expires_at)
  ), seat as (
    -- The race for the seat: one conditional UPDATE. A lapsed hold is as good as AVAILABLE.
    update seats s
    set status = 'HELD', reservation_id = p_reservation_id, hold_expires_at = now() + make_interval(secs => p_ttl_seconds)
    where s.schedule_id = p_schedule_id and s.seat_number = p_seat_number
      and (s.status = 'AVAILABLE' or hold_has_lapsed(s.status, s.hold_expires_at))
      and (select n from live) < p_max_holds
    returning s.schedule_id, s.seat_number, s.price, s.hold_expires_at
  ), made as (
    insert into reservations as r (reservation_id, user_id, concert_id, schedule_id, seat_number, price, status, expires_at, queue_seq)
    select p_reservation_id, p_user_id, v_concert_id, seat.schedule_id, seat.seat_number, seat.price, 'HELD', seat.hold_expires_at, p_queue_seq
    from seat
    returning r.reservation_id, r.schedule_id, r.seat_number, r.price, r.status, r.expires_at, r.created_at
  )
  select m.reservation_id, m.schedule_id, m.seat_number, m.price, m.status, m.expires_at, m.created_at,
    (select n from live),
    -- Asked only when no hold was made (a CASE runs its subquery only in the branch taken).
    case when m.reservation_id is null
      then exists (select 1 from seats x where x.schedule_id = p_schedule_id and x.seat_number = p_seat_number)
      else true end,
    false
  from (select 1) one
  left join made m on true;
end
$$;
