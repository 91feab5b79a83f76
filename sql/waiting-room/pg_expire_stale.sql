-- name: pg_expire_stale :exec
-- Marks the user's live place EXPIRED if it has lapsed, so that a fresh join can take its slot. A waiting
-- place that ends outside an admission step is flagged for the positions of those behind it; an admitted
-- one keeps the flag its admission set until the next ranking (pg_admit.sql).
-- $1 concert_id, $2 user_id, $3 waiting idle seconds, $4 lock class of the lines (src/db/locks.ts)
-- The lock is taken before any row is touched: the update names it in its condition.
with locked as (
  select pg_advisory_xact_lock_shared($4::int, hashtext($1::text))::text as l
)
update queue_sessions
set status = 'EXPIRED', ended_at = now(), left_line = left_line or status = 'WAITING'
where (select l from locked) is not null and concert_id = $1::uuid and user_id = $2::text and status in ('WAITING', 'ACTIVE')
  and queue_effective_status(status, last_seen_at, active_until, false, $3::int) = 'EXPIRED'
