-- name: lock_migrations :exec
-- Instances that start together queue here; each then finds the migrations already applied.
select pg_advisory_xact_lock(7320001)
