-- name: expire_keys :one
-- Keys are kept at least 24 hours; this removes those older than 25, a batch at a time. $1 batch size
with gone as (
  delete from idempotency_keys
  where (user_id, idempotency_key) in (
    select user_id, idempotency_key from idempotency_keys
    where created_at < now() - interval '25 hours'
    limit $1::int
  )
  returning 1
)
select count(*) as expired from gone
