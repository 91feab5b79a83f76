-- name: pg_check :one
-- The status of one place, without the heartbeat (the guard of payments and catalogue reads).
-- $1 seq, $2 concert_id, $3 user_id, $4 waiting idle seconds, $5 active session ttl seconds
-- Found by its key alone; the rest is one IS TRUE test no index serves (see pg_extend_many.sql).
select
  v.status,
  case when v.status = 'WAITING' and not s.pre_queue then queue_place(s.concert_id, s.ordinal, $4::int) end as position,
  case when v.status = 'ACTIVE' then (extract(epoch from s.active_until) * 1000)::bigint end as active_until_ms,
  null::bigint as line_active,
  null::double precision as ended_per_second,
  null::double precision as live_average,
  -- The end of the session's own time (admission + ttl): past it, only paying what is held.
  case when v.status = 'ACTIVE' then (extract(epoch from s.admitted_at + make_interval(secs => $5::int)) * 1000)::bigint end as own_until_ms
from queue_sessions s
join queue_lines l using (concert_id)
cross join lateral (select queue_effective_status(s.status, s.last_seen_at, s.active_until, l.sold_out, $4::int) as status) v
where s.seq = $1::bigint and (s.concert_id = $2::uuid and s.user_id = $3::text) is true
