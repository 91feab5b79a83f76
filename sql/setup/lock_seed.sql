-- name: lock_seed :exec
-- Instances starting together on an empty database load the demo concerts once.
-- $1 lock key (src/db/locks.ts)
select pg_advisory_xact_lock($1::bigint)
