-- name: lock_migrations :exec
-- Instances that start together queue here; each then finds the migrations already applied.
-- $1 lock key (src/db/locks.ts)
select pg_advisory_xact_lock($1::bigint)
