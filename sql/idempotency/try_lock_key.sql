-- name: try_lock_key :one
-- Marks "a request with this key is running" for as long as its transaction lives. Transaction-scoped:
-- a crashed instance's connection dies, Postgres rolls its work back and the key is free again.
-- $1 user_id, $2 idempotency key, $3 hash seed (src/db/locks.ts)
select pg_try_advisory_xact_lock(hashtextextended($1::text || chr(31) || $2::text, $3::bigint)) as locked
