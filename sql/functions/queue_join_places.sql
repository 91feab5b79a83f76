-- Joins the line of $1 (line) for each user of $2 (user_ids, distinct), or returns a user's live place as a heartbeat:
-- one row per user. A join is this with one user, and concurrent joins of a line go together as one
-- (src/db/group-commit.ts): one transaction and one commit for many people.
-- sold_out is null when the line row does not exist yet; seq is null when the user's live place has
-- already lapsed (the caller expires it and joins again). A new place draws the next ordinal of the
-- line's sequence (which pg_open_line creates), under the line's shared lock
-- (sql/functions/queue_place.sql). Before the opening ($5, epoch ms; null = open) and until the line's
-- draw, a new place is in the pre-queue: no position until the draw (pg_draw).
-- $1 concert_id, $2 user_ids (text[], distinct), $3 waiting idle seconds, $4 lock class of the lines
-- (src/db/locks.ts), $5 opens at (epoch ms) or null
-- The line's lock is taken exclusively, in a statement of its own before the one that reads and inserts:
-- that statement's snapshot is then taken after every earlier join of the line has committed, so each new
-- place counts every place drawn before it. With the lock shared, two instances' joins of one line ran at
-- once and neither saw the other's places: the later place was told the earlier one's position, and its
-- next poll a larger one (test/waiting-room/postgres-places.test.ts). Joins of a line leave one instance
-- a statement at a time anyway (group commit); this orders the instances' statements too, while polls,
-- holds and payments take no line lock.
-- Every change below names (select l from locked), so the lock is held before any row is touched.
-- New places are inserted in user id order: two statements that insert places for some of the same users
-- wait on each other's rows in one order, so they cannot deadlock. Which of the users of one statement
-- comes first is not an order anyone saw: they asked at the same time.
-- A live place is answered as read; its heartbeat locks SKIP LOCKED (why: queue_poll_places.sql).
-- The commit does not wait for the disk (synchronous_commit off for this transaction only): a place in a
-- waiting line is not money, and a crash forgets at most the last fraction of a second of joins (those
-- users read EXPIRED and join again), never leaves anything half done. Commits wait on the disk for about
-- 3 ms on a busy box, which bounded joins at a few hundred per connection per second.
--
-- A plpgsql function so that its plan is made once per connection (generic): a lone join is planned
-- anew on every call otherwise, which cost more than running it. The per-row lookups keep that plan right
-- whatever the statistics say, and with seq scans
-- off a plan made while the table was small cannot scan it whole once it has grown.
create or replace function queue_join_places(line uuid, user_ids text[], idle_seconds int, lock_class int, opens_at_ms bigint)
returns table (user_id text, sold_out boolean, seq bigint, created boolean, status text, "position" bigint,
               active_until_ms bigint, line_active bigint, ended_per_second double precision, live_average double precision)
language plpgsql set plan_cache_mode = force_generic_plan set enable_seqscan = off as $$
#variable_conflict use_column
begin
  perform pg_advisory_xact_lock(lock_class, hashtext(line::text));
  return query
  with locked as (
    select set_config('synchronous_commit', 'off', true) as l
  ), line as (
    select sold_out, drawn, queue_rank_fresh(ranked_at, ranked_idle_seconds, $3::int) as ranked
    from queue_lines where concert_id = $1::uuid
  ), asked as (
    select u.user_id from unnest($2::text[]) as u(user_id)
  ), live as (
    select s.seq, s.user_id, s.status, s.active_until, s.ordinal, s.pre_queue,
           queue_effective_status(s.status, s.last_seen_at, s.active_until, false, $3::int) <> 'EXPIRED' as lasting
    from asked a
    -- Each user's live place on its own (lateral), by the unique index of live places: a line grows faster
    -- than its statistics, and left to choose, the planner may walk the whole line instead.
    cross join lateral (
      select * from queue_sessions s
      where s.concert_id = $1::uuid and s.user_id = a.user_id and s.status in ('WAITING', 'ACTIVE')
      limit 1 -- there is at most one; the limit also keeps the planner from merging this into a join
    ) s
  ), joined as (
    insert into queue_sessions (concert_id, user_id, status, ordinal, pre_queue)
    select $1::uuid, n.user_id, 'WAITING', nextval(queue_line_sequence($1::uuid)::regclass), n.pre_queue
    from (
      -- A subquery with its own order: the ordinals are drawn in this order, after the sort.
      select a.user_id, coalesce(not line.drawn and to_timestamp($5::bigint / 1000.0) > now(), false) as pre_queue
      from asked a, line
      where (select l from locked) is not null and not line.sold_out
        and not exists (select 1 from live where live.user_id = a.user_id)
      order by a.user_id
    ) n
    on conflict (concert_id, user_id) where status in ('WAITING', 'ACTIVE') do nothing
    returning seq, user_id, status, active_until, ordinal, pre_queue, true as created
  ), beating as (
    select b.seq
    from live
    cross join lateral (
      select s.seq from queue_sessions s
      where (select l from locked) is not null and s.seq = live.seq and live.lasting and live.status = 'WAITING'
        and not (select sold_out from line)
      for no key update skip locked
    ) b
  ), heartbeat as (
    update queue_sessions s set last_seen_at = now()
    from beating b
    where s.seq = b.seq
  ), kept as (
    select seq, user_id, status, active_until, ordinal, pre_queue, false as created
    from live
    where lasting and not (select sold_out from line)
  ), j as (
    -- batch_ahead: the new places of this statement ahead of a new one.
    select *, row_number() over (order by ordinal) - 1 as batch_ahead from joined
    union all select *, 0 from kept
  ), placed as (
    -- The places of all the waiters of this statement, in one call (sql/functions/queue_place.sql).
    select p.ordinal, p.place
    from queue_places($1::uuid, array(select distinct j.ordinal from j where j.status = 'WAITING' and not j.pre_queue), $3::int) p
  ), pace as materialized (
    -- Materialized: once per statement. Inlined, it was a call per row of the answer (32 a batch of 32).
    select * from queue_line_pace($1::uuid)
  )
  select
    a.user_id,
    (select sold_out from line) as sold_out,
    j.seq,
    j.created,
    j.status,
    case when j.status = 'WAITING' and not j.pre_queue then
      p.place
      -- Without a fresh ranking queue_places counts the live waiters ahead, and this statement cannot see
      -- the places it inserts: those of this batch ahead of a new one are added here.
      + case when (select ranked from line) then 0 else j.batch_ahead end
    end as position,
    (extract(epoch from j.active_until) * 1000)::bigint as active_until_ms,
    pace.line_active,
    pace.ended_per_second,
    pace.live_average
  from asked a
  cross join pace
  left join j on j.user_id = a.user_id
  left join placed p on p.ordinal = j.ordinal;
end
$$;
