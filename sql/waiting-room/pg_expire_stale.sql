-- name: pg_expire_stale :exec
-- Marks the user's live place EXPIRED if it has lapsed, so that a fresh join can take its slot.
-- $1 concert_id, $2 user_id, $3 waiting idle seconds
update queue_sessions
set status = 'EXPIRED', ended_at = now()
where concert_id = $1::uuid and user_id = $2::text and status in ('WAITING', 'ACTIVE')
  and queue_effective_status(status, last_seen_at, active_until, false, $3::int) = 'EXPIRED'
