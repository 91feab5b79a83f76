-- name: pg_join :one
-- Joins the line of $1 for user $2, or returns the live place as a heartbeat.
-- sold_out is null when the line row does not exist yet; seq is null when the live place has already
-- lapsed (the caller expires it and joins again).
-- $1 concert_id, $2 user_id, $3 waiting idle seconds
with line as (
  select sold_out from queue_lines where concert_id = $1::uuid
), joined as (
  insert into queue_sessions (concert_id, user_id, status)
  select $1::uuid, $2::text, 'WAITING' from line where not line.sold_out
  on conflict (concert_id, user_id) where status in ('WAITING', 'ACTIVE') do update
    set last_seen_at = case when queue_sessions.status = 'WAITING' then now() else queue_sessions.last_seen_at end
    where queue_effective_status(queue_sessions.status, queue_sessions.last_seen_at, queue_sessions.active_until,
                                 false, $3::int) <> 'EXPIRED'
  returning seq, status, active_until, (xmax = 0) as created
)
select
  (select sold_out from line) as sold_out,
  j.seq,
  j.created,
  j.status,
  case when j.status = 'WAITING' then queue_position($1::uuid, j.seq, $3::int) end as position,
  (extract(epoch from j.active_until) * 1000)::bigint as active_until_ms,
  queue_admitted_per_second($1::uuid) as admitted_per_second
from (select 1) one
left join joined j on true
