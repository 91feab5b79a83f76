-- name: try_lock_job :one
-- One runner per tick across all instances: whoever takes this transaction-scoped lock runs the job, the
-- others skip. Transaction-scoped so it can never leak across pooled connections. $1 job key
select pg_try_advisory_xact_lock(7320100, $1::int) as locked
