-- name: pg_poll :one
-- The status of one place; for a live WAITING place it is also the heartbeat.
-- $1 seq, $2 concert_id, $3 user_id, $4 waiting idle seconds
-- The heartbeat names its row by seq alone (unique; the read below checks the concert): given the concert
-- too, the planner may walk the line's index of waiting places instead of the primary key.
-- The heartbeat's commit does not wait for the disk (synchronous_commit off for this transaction only): a
-- crash forgets at most the last fraction of a second of heartbeats, which only makes those places look
-- that much older.
with relaxed as (
  select set_config('synchronous_commit', 'off', true) as c
), heartbeat as (
  update queue_sessions set last_seen_at = now()
  where (select c from relaxed) is not null and seq = $1::bigint and user_id = $3::text and status = 'WAITING'
    and last_seen_at > now() - make_interval(secs => $4::int)
)
select
  v.status,
  case when v.status = 'WAITING' and not s.pre_queue then queue_place(s.concert_id, s.ordinal, $4::int) end as position,
  case when v.status = 'ACTIVE' then (extract(epoch from s.active_until) * 1000)::bigint end as active_until_ms,
  queue_admitted_per_second(s.concert_id) as admitted_per_second
from queue_sessions s
join queue_lines l using (concert_id)
cross join lateral (select queue_effective_status(s.status, s.last_seen_at, s.active_until, l.sold_out, $4::int) as status) v
where s.seq = $1::bigint and s.concert_id = $2::uuid and s.user_id = $3::text
