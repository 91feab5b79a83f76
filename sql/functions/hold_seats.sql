-- Seat holds, several users' at once, as one call (one round trip, one implicit transaction, one commit).
-- Each hold is decided exactly as if it were alone: the user's row lock first, so that one user's
-- concurrent holds, payments and cancels are decided one at a time, then the conditional UPDATE of the
-- seat with a snapshot taken after that lock (in a VOLATILE plpgsql function every statement takes a
-- fresh snapshot, so the count of live holds sees every hold, payment and cancel of this user that
-- committed before the lock was granted). The users are distinct (the caller batches a user once).
-- Returns a row per hold (n: its place in the arrays): the reservation if the hold was made, else the
-- facts that say why not, or `contended` when the seat was locked by another transaction and the hold
-- must be asked again alone.
--
-- Why batches: a hold's cost in Postgres is mostly its transaction, not its statements (stop 20: 140-170
-- us in the function, 834-1,059 us of CPU per hold at 16 clients, most of the wait at the WAL write
-- lock). Holds that arrive together share one commit, as charges do (sql/balance/charge_many.sql).
--
-- Deadlocks: every user row of the batch is locked first, in ascending order, as every batch and every
-- single writer (user, reservation, seat) locks users before anything else. In a batch of more than one
-- a seat is then only taken if nobody holds its lock (SKIP LOCKED), so a batch never waits while it
-- holds a seat: two batches, or a batch and a payment, cannot close a cycle. A hold that found its seat
-- locked is answered `contended`, and asked again alone (p_wait): it waits for the lock, as one hold
-- always did, and its answer is the one it would have had alone - a seat whose hold lapsed and whose
-- row the lapse job has locked is free, not taken.
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
create or replace function hold_seats(
  p_reservation_ids uuid[], p_user_ids text[], p_schedule_ids uuid[], p_seat_numbers int[], p_queue_seqs bigint[],
  p_ttl_seconds int, p_max_holds int, p_wait boolean
) returns table (
  n int, reservation_id uuid, schedule_id uuid, seat_number int, price bigint, status text,
  expires_at timestamptz, created_at timestamptz, live_holds bigint, seat_exists boolean, session_ended boolean,
  contended boolean
) language plpgsql volatile set plan_cache_mode = force_generic_plan set enable_seqscan = off as $$
declare
  v_free boolean[];
  v_concert_id uuid;
  v_made record;
  -- When the holds are made, in whole milliseconds: the times a client is shown (createdAt, expiresAt)
  -- are milliseconds, so a hold lapses at the very expiresAt it was given, not up to a millisecond after
  -- it (a hold of the seat sent just after expiresAt was refused: a hostile probe, 5 of ~80 sent within
  -- 0.15 ms), and expiresAt is createdAt + the TTL exactly.
  v_made_at timestamptz := date_trunc('milliseconds', now());
  i int;
begin
  -- A seat that is taken is refused from a plain read, before any lock or write. The refusal is as true
  -- as the conditional UPDATE's would be (the seat is HELD or SOLD in this snapshot, and the UPDATE would
  -- find no row to change), but it locks no user row, writes no WAL and has nothing to commit: on a seat
  -- many want at once (a hot seat, the last seats of a sale) most holds are refusals. Which refusal is
  -- answered stays as below: no such seat, then the hold limit, then the seat taken. (Whether a payment
  -- ended the session is not read here: the queue guard before the hold already answered for a session
  -- the store has ended, and a refusal is a refusal either way while a payment is ending it.)
  select array_agg(s.status = 'AVAILABLE' or hold_has_lapsed(s.status, s.hold_expires_at) order by w.k)
  into v_free
  from unnest(p_schedule_ids, p_seat_numbers) with ordinality as w(schedule_id, seat_number, k)
  left join seats s on s.schedule_id = w.schedule_id and s.seat_number = w.seat_number;

  -- ON CONFLICT DO UPDATE locks the conflicting row even when its WHERE is false: a lock, no write.
  -- Rows are inserted in the order the SELECT gives them: ascending.
  insert into users as u (user_id)
  select w.user_id from unnest(p_user_ids, v_free) as w(user_id, free) where w.free order by w.user_id
  on conflict (user_id) do update set user_id = excluded.user_id where false;

  for i in 1 .. coalesce(array_length(p_user_ids, 1), 0) loop
    if v_free[i] is not true then
      return query select i, null::uuid, null::uuid, null::int, null::bigint, null::text, null::timestamptz, null::timestamptz,
        (select count(*) from reservations r where r.user_id = p_user_ids[i] and hold_is_live(r.status, r.expires_at)),
        v_free[i] is not null, false, false;
      continue;
    end if;

    -- A session that paid ends once the user has no live hold left in the concert (PRODUCT.md): by the
    -- payment or cancel that left none (decided under the lock just taken), or by the last hold's lapse.
    -- The queue store hears of it only afterwards, so a hold that passed the queue guard in between is
    -- refused here: it would otherwise land in a session that is over. So is a session an operator ended
    -- (recorded under the same lock, sql/functions/end_session_holds.sql): an instance that saw it ACTIVE
    -- moments ago does not ask the store before a hold.
    select sc.concert_id into v_concert_id from schedules sc where sc.schedule_id = p_schedule_ids[i];
    if session_has_ended(p_user_ids[i], v_concert_id, p_queue_seqs[i]) then
      return query select i, null::uuid, null::uuid, null::int, null::bigint, null::text, null::timestamptz, null::timestamptz,
        0::bigint, true, true, false;
      continue;
    end if;

    if p_wait then
      -- Alone, the hold waits for the seat's lock, as a conditional UPDATE does, and then sees its outcome.
      perform 1 from seats s where s.schedule_id = p_schedule_ids[i] and s.seat_number = p_seat_numbers[i] for update;
    end if;

    with live as (
      select count(*) as held from reservations r
      where r.user_id = p_user_ids[i] and hold_is_live(r.status, r.expires_at)
    ), free as (
      -- The race for the seat: a lapsed hold is as good as AVAILABLE. Locked by this transaction (p_wait)
      -- it is not skipped.
      select s.schedule_id, s.seat_number from seats s
      where s.schedule_id = p_schedule_ids[i] and s.seat_number = p_seat_numbers[i]
        and (s.status = 'AVAILABLE' or hold_has_lapsed(s.status, s.hold_expires_at))
        and (select l.held from live l) < p_max_holds
      for update skip locked
    ), seat as (
      update seats s
      set status = 'HELD', reservation_id = p_reservation_ids[i], hold_expires_at = v_made_at + make_interval(secs => p_ttl_seconds)
      from free f
      where s.schedule_id = f.schedule_id and s.seat_number = f.seat_number
      returning s.schedule_id, s.seat_number, s.price, s.hold_expires_at
    ), made as (
      insert into reservations as r (reservation_id, user_id, concert_id, schedule_id, seat_number, price, status, expires_at, created_at, queue_seq)
      select p_reservation_ids[i], p_user_ids[i], v_concert_id, seat.schedule_id, seat.seat_number, seat.price, 'HELD', seat.hold_expires_at, v_made_at, p_queue_seqs[i]
      from seat
      returning r.reservation_id, r.schedule_id, r.seat_number, r.price, r.status, r.expires_at, r.created_at
    )
    select m.reservation_id, m.schedule_id, m.seat_number, m.price, m.status, m.expires_at, m.created_at, (select l.held from live l) as live
    into v_made
    from (select 1) one
    left join made m on true;

    if v_made.reservation_id is not null then
      return query select i, v_made.reservation_id, v_made.schedule_id, v_made.seat_number, v_made.price, v_made.status,
        v_made.expires_at, v_made.created_at, v_made.live, true, false, false;
    else
      -- Not made: over the hold limit, or the seat is taken - or, in a batch, locked by a transaction
      -- still deciding it (it reads free here, as its last committed state).
      return query select i, null::uuid, null::uuid, null::int, null::bigint, null::text, null::timestamptz, null::timestamptz,
        v_made.live, true, false,
        not p_wait and v_made.live < p_max_holds and exists (
          select 1 from seats x where x.schedule_id = p_schedule_ids[i] and x.seat_number = p_seat_numbers[i]
            and (x.status = 'AVAILABLE' or hold_has_lapsed(x.status, x.hold_expires_at)));
    end if;
  end loop;
end
$$;
