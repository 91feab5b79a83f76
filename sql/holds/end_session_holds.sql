-- name: end_session_holds :one
-- An operator ended a queue session: holds refuse it from now on, and its live holds are released
-- (function end_session_holds, sql/functions/end_session_holds.sql); -1 when a payment had ended it already.
-- $1 user_id, $2 concert_id, $3 seq of the queue session
select end_session_holds($1::text, $2::uuid, $3::bigint) as released
