-- name: pg_draw_settle :exec
-- The second half of pg_draw: the dealt ordinals of line $1, negated there, become positive.
-- $1 concert_id
update queue_sessions set ordinal = -ordinal where concert_id = $1::uuid and ordinal < 0
