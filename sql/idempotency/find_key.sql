-- name: find_key :one
-- Read in its own statement, after try_lock_key, so it sees whatever the previous holder committed.
-- $1 user_id, $2 idempotency key
select fingerprint, response_status, response_body
from idempotency_keys
where user_id = $1::text and idempotency_key = $2::text
