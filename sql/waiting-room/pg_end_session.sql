-- name: pg_end_session :one
-- An operator ends a user's live place in line $1; its token then reads EXPIRED. A waiting place that
-- ends outside an admission step is flagged for the positions of those behind it; an admitted one keeps
-- the flag its admission set until the next ranking (pg_admit.sql).
-- $1 concert_id, $2 user_id, $3 lock class of the lines (src/db/locks.ts)
-- Returns the seq of the place ended, or null when the user had no live place.
-- The lock is taken before any row is touched: the update names it in its condition.
with locked as (
  select pg_advisory_xact_lock_shared($3::int, hashtext($1::text))::text as l
), ended as (
  update queue_sessions set status = 'EXPIRED', ended_at = now(), left_line = left_line or status = 'WAITING'
  where (select l from locked) is not null and concert_id = $1::uuid and user_id = $2::text and status in ('WAITING', 'ACTIVE')
  returning seq
)
select (select seq from ended) as seq
