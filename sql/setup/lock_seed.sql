-- name: lock_seed :exec
-- Instances starting together on an empty database load the demo concerts once.
select pg_advisory_xact_lock(7320003)
