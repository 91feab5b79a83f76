-- name: pg_join :one
-- Joins the line of $1 for user $2, or returns the live place as a heartbeat.
-- sold_out is null when the line row does not exist yet; seq is null when the live place has already
-- lapsed (the caller expires it and joins again). A new place draws the next ordinal of the line's
-- sequence (which pg_open_line creates), under the line's shared lock (sql/functions/queue_place.sql).
-- Before the opening ($5, epoch ms; null = open) and until the line's draw, a new place is in the
-- pre-queue: no position until the draw (pg_draw).
-- $1 concert_id, $2 user_id, $3 waiting idle seconds, $4 lock class of the lines (src/db/locks.ts),
-- $5 opens at (epoch ms) or null
-- Every change below names (select l from locked), so the lock is held before any row is touched.
-- The commit does not wait for the disk (synchronous_commit off for this transaction only): a place in a
-- waiting line is not money, and a crash forgets at most the last fraction of a second of joins (those
-- users read EXPIRED and join again), never leaves anything half done. Commits wait on the disk for about
-- 3 ms on a busy box, which bounded joins at a few hundred per connection per second.
with locked as (
  select pg_advisory_xact_lock_shared($4::int, hashtext($1::text))::text
         || set_config('synchronous_commit', 'off', true) as l
), line as (
  select sold_out, drawn from queue_lines where concert_id = $1::uuid
), live as (
  select seq from queue_sessions
  where concert_id = $1::uuid and user_id = $2::text and status in ('WAITING', 'ACTIVE')
), joined as (
  insert into queue_sessions (concert_id, user_id, status, ordinal, pre_queue)
  select $1::uuid, $2::text, 'WAITING', nextval(queue_line_sequence($1::uuid)::regclass),
         coalesce(not line.drawn and to_timestamp($5::bigint / 1000.0) > now(), false)
  from line where (select l from locked) is not null and not line.sold_out and not exists (select 1 from live)
  on conflict (concert_id, user_id) where status in ('WAITING', 'ACTIVE') do nothing
  returning seq, status, active_until, ordinal, pre_queue, true as created
), kept as (
  -- The live place: a heartbeat if it is a live waiting one; nothing if it has lapsed.
  update queue_sessions s
  set last_seen_at = case when s.status = 'WAITING' then now() else s.last_seen_at end
  from line
  where (select l from locked) is not null and s.seq = (select seq from live) and not line.sold_out
    and queue_effective_status(s.status, s.last_seen_at, s.active_until, false, $3::int) <> 'EXPIRED'
  returning s.seq, s.status, s.active_until, s.ordinal, s.pre_queue, false as created
), j as (
  select * from joined union all select * from kept
)
select
  (select sold_out from line) as sold_out,
  j.seq,
  j.created,
  j.status,
  case when j.status = 'WAITING' and not j.pre_queue then queue_place($1::uuid, j.ordinal, $3::int) end as position,
  (extract(epoch from j.active_until) * 1000)::bigint as active_until_ms,
  queue_admitted_per_second($1::uuid) as admitted_per_second
from (select 1) one
left join j on true
