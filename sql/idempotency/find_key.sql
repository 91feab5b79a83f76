-- name: find_key :one
-- The stored answer under a key, read when a request's precondition refused it (a request with this key
-- may have finished meanwhile and changed what the precondition sees).
-- $1 user_id, $2 idempotency key
select fingerprint, response_status, response_body
from idempotency_keys
where user_id = $1::text and idempotency_key = $2::text
