-- name: session_has_ended :one
-- Whether the queue session is over as far as the booking tables tell (function session_has_ended,
-- sql/functions/session_has_ended.sql): it paid and has no live hold left, or an operator ended it.
-- Asked after an undone hold, in its transaction (src/holds/holds.ts).
-- $1 user_id, $2 concert_id, $3 queue_seq
select session_has_ended($1::text, $2::uuid, $3::bigint) as ended
