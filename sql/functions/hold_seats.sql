-- Seat holds, several users' at once, as one call (one round trip, one implicit transaction, one commit).
-- Each hold is decided exactly as if it were alone: the user's row lock first, so that one user's
-- concurrent holds, payments and cancels are decided one at a time, then the conditional UPDATE of the
-- seat with a snapshot taken after that lock (in a VOLATILE plpgsql function every statement takes a
-- fresh snapshot, so the count of live holds sees every hold, payment and cancel of this user that
-- committed before the lock was granted). The users are distinct (the caller batches a user once), so
-- one user's facts (live holds, whether the session is over) do not depend on the batch's other holds,
-- and every hold of the batch is decided by one statement after all the locks: the seats, the count,
-- the session's end and the reservation rows of all of them at once. It ran four to five short
-- statements per hold, each with its executor start-up: a batch of 8 cost Postgres 3,764-8,100 us of
-- CPU then and 2,353-2,778 now (pgbench, a 100,000-seat schedule, 2-core box, alternated); alone (a
-- batch of one) a hold costs what it did (test/tools/bench/HISTORY.md, stop 28).
-- Returns a row per hold (n: its place in the arrays): the reservation if the hold was made, else the
-- facts that say why not, or `contended` when the seat was locked by another transaction and the hold
-- must be asked again alone.
--
-- The Postgres store keeps the queue sessions in this database: with p_session_ttls the hold checks its
-- session (ACTIVE, within its own time) and extends it to cover the hold, in this statement, and a
-- session that is not so is answered `session_inactive` with nothing written. On a Redis store the
-- caller asks the store once the hold is made (src/waiting-room/waiting-room.ts, holdMade). Folding the
-- extension in saved the Postgres store a transaction and a commit per batch: 1,101 -> 1,534 holds/s,
-- Postgres CPU 820 -> 561 us a hold (test/tools/bench/HISTORY.md, stop 31).
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
-- row the lapse job has locked is free, not taken. Two holds of one batch that want the same seat: one
-- of them takes it (the UPDATE changes the row once), and the other is refused as it would be after it
-- (SEAT_UNAVAILABLE).
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
  p_ttl_seconds int, p_max_holds int, p_wait boolean,
  p_session_ttls int[] default null, p_session_margin_ms int default 0
) returns table (
  n int, reservation_id uuid, schedule_id uuid, seat_number int, price bigint, status text,
  expires_at timestamptz, created_at timestamptz, live_holds bigint, seat_exists boolean, session_ended boolean,
  contended boolean, session_inactive boolean
) language plpgsql volatile set plan_cache_mode = force_generic_plan set enable_seqscan = off as $$
declare
  v_free boolean[];
  -- When the holds are made, in whole milliseconds: the times a client is shown (createdAt, expiresAt)
  -- are milliseconds, so a hold lapses at the very expiresAt it was given, not up to a millisecond after
  -- it (a hold of the seat sent just after expiresAt was refused: a hostile probe, 5 of ~80 sent within
  -- 0.15 ms), and expiresAt is createdAt + the TTL exactly.
  v_made_at timestamptz := date_trunc('milliseconds', now());
begin
  -- A seat that is taken is refused from a plain read, before any lock or write. The refusal is as true
  -- as the conditional UPDATE's would be (the seat is HELD or SOLD in this snapshot, and the UPDATE would
  -- find no row to change), but it locks no user row, writes no WAL and has nothing to commit: on a seat
  -- many want at once (a hot seat, the last seats of a sale) most holds are refusals. Which refusal is
  -- answered stays as below: no such seat, then the hold limit, then the seat taken. (Whether a payment
  -- ended the session is not read for it: the queue guard before the hold already answered for a session
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

  if p_wait then
    -- Alone, the hold waits for the seat's lock, as a conditional UPDATE does, and then sees its outcome
    -- (the statement below takes its snapshot after the lock is granted, and does not skip a row this
    -- transaction has locked).
    perform 1 from seats s
    join unnest(p_schedule_ids, p_seat_numbers, v_free) as w(schedule_id, seat_number, free)
      on s.schedule_id = w.schedule_id and s.seat_number = w.seat_number
    where w.free
    order by s.schedule_id, s.seat_number
    for update of s;
  end if;

  return query
  with wanted as (
    select w.k::int as n, w.reservation_id, w.user_id, w.schedule_id, w.seat_number, w.seq, w.free, w.session_ttl, sc.concert_id,
      (select count(*) from reservations r where r.user_id = w.user_id and hold_is_live(r.status, r.expires_at)) as live
    from unnest(p_reservation_ids, p_user_ids, p_schedule_ids, p_seat_numbers, p_queue_seqs, v_free, p_session_ttls)
      with ordinality as w(reservation_id, user_id, schedule_id, seat_number, seq, free, session_ttl, k)
    left join schedules sc on sc.schedule_id = w.schedule_id
  ), session as (
    -- The Postgres store keeps the queue sessions in this database (p_session_ttls: each line's session
    -- TTL): the hold checks its session and extends it here, in this statement and under its commit,
    -- instead of in a transaction of its own afterwards (pg_extend_many.sql): by the same rule
    -- (queue_session_extendable) and, as there, not in a line that is sold out. Locked in ascending seq,
    -- as every writer of several sessions locks them; only the sessions of this batch's users, whose
    -- locks it holds, so no other hold batch waits for them. Each is found by its key alone, the other
    -- conditions one IS TRUE test no index serves (see pg_extend_many.sql; planned as a fresh connection
    -- plans it in test/waiting-room/postgres-plans.test.ts).
    select s.seq
    from wanted w
    join queue_sessions s on s.seq = w.seq
    join queue_lines l on l.concert_id = w.concert_id and not l.sold_out
    where w.session_ttl is not null and w.free is true
      and (s.concert_id = w.concert_id and s.user_id = w.user_id
        and queue_session_extendable(s.status, s.active_until, s.admitted_at, w.session_ttl)) is true
    order by s.seq
    for no key update of s
  ), facts as (
    -- A session that paid ends once the user has no live hold left in the concert (PRODUCT.md): by the
    -- payment or cancel that left none (decided under the lock just taken), or by the last hold's lapse.
    -- The queue store hears of it only afterwards, so a hold that passed the queue guard in between is
    -- refused here: it would otherwise land in a session that is over. So is a session an operator ended
    -- (recorded under the same lock, sql/functions/end_session_holds.sql): an instance that saw it ACTIVE
    -- moments ago does not ask the store before a hold.
    select wanted.*, wanted.free is true and session_has_ended(wanted.user_id, wanted.concert_id, wanted.seq) as ended,
      wanted.free is true and wanted.session_ttl is not null and not exists (select 1 from session x where x.seq = wanted.seq) as inactive
    from wanted
  ), free as (
    -- The race for the seat: a lapsed hold is as good as AVAILABLE. In a batch a seat locked by another
    -- transaction is skipped (answered contended below); one locked by this transaction (p_wait) is not.
    select s.schedule_id, s.seat_number, f.n
    from facts f join seats s on s.schedule_id = f.schedule_id and s.seat_number = f.seat_number
    where f.free and not f.ended and not f.inactive and f.live < p_max_holds
      and (s.status = 'AVAILABLE' or hold_has_lapsed(s.status, s.hold_expires_at))
    for update of s skip locked
  ), seat as (
    update seats s
    set status = 'HELD', reservation_id = p_reservation_ids[f.n], hold_expires_at = v_made_at + make_interval(secs => p_ttl_seconds)
    from free f
    where s.schedule_id = f.schedule_id and s.seat_number = f.seat_number
    returning f.n, s.schedule_id, s.seat_number, s.price, s.hold_expires_at
  ), made as (
    insert into reservations as r (reservation_id, user_id, concert_id, schedule_id, seat_number, price, status, expires_at, created_at, queue_seq)
    select f.reservation_id, f.user_id, f.concert_id, seat.schedule_id, seat.seat_number, seat.price, 'HELD', seat.hold_expires_at, v_made_at, f.seq
    from seat join facts f on f.n = seat.n
    returning r.reservation_id, r.schedule_id, r.seat_number, r.price, r.status, r.expires_at, r.created_at, r.queue_seq
  ), extended as (
    -- The session lasts at least until its hold can no longer be paid (never shortened).
    update queue_sessions s
    set active_until = greatest(s.active_until, m.expires_at + make_interval(secs => p_session_margin_ms / 1000.0))
    from made m join session k on k.seq = m.queue_seq
    where s.seq = k.seq
  )
  select f.n, m.reservation_id, m.schedule_id, m.seat_number, m.price, m.status, m.expires_at, m.created_at,
    f.live, f.free is not null, f.ended is true,
    -- Not made although it could have been: in a batch the seat was locked by a transaction still
    -- deciding it (it reads free here, as its last committed state). A seat another hold of this batch
    -- took also reads free to this statement, which does not see its own writes: it is taken. Else ask
    -- again alone.
    m.reservation_id is null and f.free is true and not f.ended and not f.inactive and f.live < p_max_holds and not p_wait
      and not exists (select 1 from seat t where t.schedule_id = f.schedule_id and t.seat_number = f.seat_number)
      and exists (select 1 from seats x where x.schedule_id = f.schedule_id and x.seat_number = f.seat_number
        and (x.status = 'AVAILABLE' or hold_has_lapsed(x.status, x.hold_expires_at))),
    f.inactive is true
  from facts f left join made m on m.reservation_id = f.reservation_id
  order by f.n;
end
$$;
