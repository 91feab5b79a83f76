-- name: pg_extend :one
-- An ACTIVE session within its own time (admission + $5) lasts at least until $4 (epoch ms), so that a
-- hold made now can be paid. Past its own time a session lives on only to pay what it holds, and is not
-- extended (the hold is undone: holding, cancelling and holding again would keep it alive without end;
-- helper-34). Returns no row unless the session is ACTIVE and within its own time.
-- $1 seq, $2 concert_id, $3 user_id, $4 until (epoch ms), $5 active session ttl seconds
-- The row is found by its key alone: the other conditions are one IS TRUE test, which no index can serve.
-- Written as plain conditions, they let a plan made while the table had no statistics (a new database,
-- the first minute of a sale) read the session through queue_sessions_active, every ACTIVE session of the
-- concert for each call (6 ms at 6,000 ACTIVE; test/waiting-room/postgres-plans.test.ts), for as long as
-- the connection keeps the plan.
update queue_sessions s
set active_until = greatest(s.active_until, to_timestamp($4::bigint / 1000.0))
from queue_lines l
where s.seq = $1::bigint
  and (s.concert_id = $2::uuid and s.user_id = $3::text and s.status = 'ACTIVE' and s.active_until > now()
    and coalesce(s.admitted_at + make_interval(secs => $5::int) > now(), true)) is true
  and l.concert_id = s.concert_id and not l.sold_out
returning 'ACTIVE' as status, null::bigint as position,
  (extract(epoch from s.active_until) * 1000)::bigint as active_until_ms,
  null::double precision as admitted_per_second,
  (extract(epoch from s.admitted_at + make_interval(secs => $5::int)) * 1000)::bigint as own_until_ms
