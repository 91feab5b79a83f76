-- name: charge_once :one
-- A charge with an Idempotency-Key and its stored answer (function charge_once,
-- sql/functions/charge_once.sql), in one round trip and one transaction. Always one row.
-- $1 user_id, $2 idempotency key, $3 fingerprint of the request, $4 hash seed of the key's lock
-- (src/db/locks.ts), $5 the fixed part of each problem body it may store, by code, $6 ledger entry_id,
-- $7 amount, $8 max balance
select * from charge_once($1::text, $2::text, $3::text, $4::bigint, $5::json, $6::uuid, $7::bigint, $8::bigint)
