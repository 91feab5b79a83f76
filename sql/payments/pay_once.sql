-- name: pay_once :one
-- The payment and, with an Idempotency-Key, its stored answer (function pay_once,
-- sql/functions/pay_once.sql), in one round trip and one transaction. Always one row.
-- $1 user_id, $2 idempotency key (null: none), $3 fingerprint of the request, $4 hash seed of the key's
-- lock (src/db/locks.ts), $5 the fixed part of each problem body it may store, by code, $6 payment_id,
-- $7 ledger entry_id, $8 reservation_id, $9 concert_id of the queue session
select * from pay_once($1::text, $2::text, $3::text, $4::bigint, $5::json, $6::uuid, $7::uuid, $8::uuid, $9::uuid)
