-- name: save_key :exec
-- In the same transaction as the effect: the key is stored if and only if the effect committed.
-- $1 user_id, $2 idempotency key, $3 fingerprint, $4 response status, $5 response body
insert into idempotency_keys (user_id, idempotency_key, fingerprint, response_status, response_body)
values ($1::text, $2::text, $3::text, $4::int, $5::json)
