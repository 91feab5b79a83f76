-- name: pg_stats :one
-- The operator's read-out of line $1. $2 waiting idle seconds
select
  count(*) filter (where status = 'WAITING' and last_seen_at > now() - make_interval(secs => $2::int)) as waiting,
  count(*) filter (where status = 'ACTIVE' and active_until > now()) as active,
  (select coalesce(sum(admitted), 0) from queue_admissions
   where concert_id = $1::uuid and second > floor(extract(epoch from now()))::bigint - 60) as admitted_last_minute,
  (extract(epoch from min(joined_at) filter (
     where status = 'WAITING' and last_seen_at > now() - make_interval(secs => $2::int))) * 1000)::bigint as oldest_joined_ms,
  coalesce((select sold_out from queue_lines where concert_id = $1::uuid), false) as sold_out
from queue_sessions
where concert_id = $1::uuid and status in ('WAITING', 'ACTIVE')
