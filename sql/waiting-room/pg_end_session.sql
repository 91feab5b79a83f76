-- name: pg_end_session :one
-- An operator ends a user's live place in line $1; its token then reads EXPIRED. $2 user_id
with ended as (
  update queue_sessions set status = 'EXPIRED', ended_at = now()
  where concert_id = $1::uuid and user_id = $2::text and status in ('WAITING', 'ACTIVE')
  returning 1
)
select count(*) > 0 as ended from ended
