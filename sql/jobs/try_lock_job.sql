-- name: try_lock_job :one
-- One runner per tick across all instances: whoever takes this transaction-scoped lock runs the job, the
-- others skip. Transaction-scoped so it can never leak across pooled connections.
-- $1 lock class, $2 job key (src/db/locks.ts)
select pg_try_advisory_xact_lock($1::int, $2::int) as locked
