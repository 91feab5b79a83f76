-- name: pay_many :many
-- Payments of distinct users, ascending, with their stored answers under their Idempotency-Keys (function
-- pay_many, sql/functions/pay_many.sql), in one round trip and one transaction. A row per payment, by n
-- (1-based place in the arrays).
-- $1 user_ids, $2 idempotency keys (null: none), $3 fingerprints of the requests, $4 payment_ids,
-- $5 ledger entry_ids, $6 reservation_ids, $7 concert_ids of the queue sessions, $8 their queue seqs,
-- $9 the ends of their own time as the guard read them (null: not known), $10 hash seed of the keys'
-- locks (src/db/locks.ts), $11 the fixed part of each problem body it may store, by code, $12 wait for a
-- locked reservation (a batch of one)
select * from pay_many($1::text[], $2::text[], $3::text[], $4::uuid[], $5::uuid[], $6::uuid[], $7::uuid[], $8::bigint[], $9::timestamptz[], $10::bigint, $11::json, $12::boolean)
