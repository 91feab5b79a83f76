-- name: expire_keys :one
-- Keys are kept at least 24 hours; this removes those older than 25, a batch at a time. $1 batch size
-- The batch is the oldest keys in age order (the index by age answers it with its first entries) and
-- each is deleted by its row address: as a join of the table to its own batch, a plan made while the
-- table had no statistics read the whole table twice for each batch (test/jobs/expire-keys-plan.test.ts).
-- The age is asked again at the delete, so an address that names another row by then deletes nothing.
with gone as (
  delete from idempotency_keys
  where ctid = any(array(
      select ctid from idempotency_keys
      where created_at < now() - interval '25 hours'
      order by created_at
      limit $1::int
    ))
    and created_at < now() - interval '25 hours'
  returning 1
)
select count(*) as expired from gone
