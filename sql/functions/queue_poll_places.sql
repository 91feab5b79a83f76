-- The statuses of several places of line $1 in one statement, one row per place found (ord = its index
-- in the arrays, from 1; a place not found is EXPIRED to the caller). A poll is this with one place;
-- pushed status asks for many at once. Each answer is what that place's own poll would read: the status, the
-- exact position (queue_places, sql/functions/queue_place.sql: one call for all of them), how fast places
-- come free (queue_line_pace); a live WAITING place also gets its heartbeat.
-- $1 concert_id, $2 seqs (bigint[]), $3 user_ids (text[], same order), $4 waiting idle seconds,
-- $5 heartbeat min age (seconds): a place polled more recently than that keeps its last poll time. Polls
-- pass 0 (every poll is a heartbeat); pushed status asks every tick for every watcher and passes a tenth
-- of the idle limit, which keeps the place just as well for a fraction of the writes.
--
-- The heartbeat locks its rows SKIP LOCKED, in one statement before it writes them: a statement that
-- writes many rows while another (the admission step, another batch) writes many of the same could
-- deadlock if each waited for the other's rows. A row that is locked is being changed by another
-- transaction right now: admitted or ended (then a heartbeat has no use), or given a heartbeat by a
-- concurrent poll of the same place (which does the same); only the draw of a pre-queue at the opening
-- leaves a place WAITING, and such a place misses this one heartbeat, not its place.
-- The read sees the rows as they were before the heartbeat, as a lone poll does.
-- Every place is looked up on its own (lateral) by seq, the primary key: a line grows faster than its
-- statistics, and left to choose, the planner walked the whole line's index once per statement.
-- The commit does not wait for the disk (synchronous_commit off for this transaction only): a crash
-- forgets at most the last fraction of a second of heartbeats, which only makes those places look that
-- much older.
--
-- A plpgsql function so that its plan is made once per connection (generic): a lone poll is planned
-- anew on every call otherwise, which cost more than running it (the custom plan knows the arrays'
-- lengths, so Postgres never takes the generic one). The per-row lookups keep that plan right whatever
-- the statistics say, and with seq scans off a plan made while the table was small cannot scan it whole
-- once it has grown.
create or replace function queue_poll_places(line uuid, seqs bigint[], user_ids text[], idle_seconds int, min_age_seconds double precision)
returns table (ord bigint, status text, "position" bigint, active_until_ms bigint, line_active bigint, ended_per_second double precision, live_average double precision)
language plpgsql set plan_cache_mode = force_generic_plan set enable_seqscan = off as $$
#variable_conflict use_column
begin
  return query
  with relaxed as (
    select set_config('synchronous_commit', 'off', true) as c
  ), asked as (
    select a.seq, a.user_id, a.ord
    from unnest($2::bigint[], $3::text[]) with ordinality as a(seq, user_id, ord)
  ), beating as (
    select b.seq
    from asked a
    cross join lateral (
      select s.seq from queue_sessions s
      where (select c from relaxed) is not null and s.seq = a.seq and s.user_id = a.user_id and s.status = 'WAITING'
        and s.last_seen_at > now() - make_interval(secs => $4::int)
        and s.last_seen_at <= now() - make_interval(secs => $5::double precision)
      for no key update skip locked
    ) b
  ), heartbeat as (
    update queue_sessions s set last_seen_at = now()
    from beating b
    where s.seq = b.seq
  ), found as (
    select a.ord, s.ordinal, s.pre_queue, s.active_until, v.status
    from asked a
    cross join lateral (
      select * from queue_sessions s where s.seq = a.seq and s.concert_id = $1::uuid and s.user_id = a.user_id
      limit 1 -- there is at most one; the limit also keeps the planner from merging this into a join
    ) s
    join queue_lines l on l.concert_id = s.concert_id
    cross join lateral (select queue_effective_status(s.status, s.last_seen_at, s.active_until, l.sold_out, $4::int) as status) v
  ), placed as (
    -- The places of all the waiters asked for, in one call (sql/functions/queue_place.sql).
    select p.ordinal, p.place
    from queue_places($1::uuid, array(select distinct f.ordinal from found f where f.status = 'WAITING' and not f.pre_queue), $4::int) p
  ), pace as materialized (
    -- Materialized: once per statement. Inlined, it was a call per row of the answer (32 a batch of 32).
    select * from queue_line_pace($1::uuid)
  )
  select
    f.ord,
    f.status,
    p.place as position,
    case when f.status = 'ACTIVE' then (extract(epoch from f.active_until) * 1000)::bigint end as active_until_ms,
    pace.line_active,
    pace.ended_per_second,
    pace.live_average
  from found f
  cross join pace
  left join placed p on p.ordinal = f.ordinal and f.status = 'WAITING' and not f.pre_queue;
end
$$;
