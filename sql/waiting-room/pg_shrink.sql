-- name: pg_shrink :exec
-- A hold was cancelled: the ACTIVE session lasts no longer than its own time (admission + ttl) or $4 (what
-- the user's remaining live holds need; 0 if none), whichever is later. Never lengthens it.
-- $1 seq, $2 concert_id, $3 user_id, $4 until (epoch ms), $5 active session ttl seconds
-- Found by its key alone; the rest is one IS TRUE test no index serves (see pg_extend_many.sql).
update queue_sessions s
set active_until = greatest(s.admitted_at + make_interval(secs => $5::int), to_timestamp($4::bigint / 1000.0))
where s.seq = $1::bigint
  and (s.concert_id = $2::uuid and s.user_id = $3::text and s.status = 'ACTIVE' and s.admitted_at is not null
    and s.active_until > greatest(s.admitted_at + make_interval(secs => $5::int), to_timestamp($4::bigint / 1000.0))) is true
