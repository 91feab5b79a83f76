-- name: pg_open_line :exec
-- The line's row and the sequence that numbers its places.
-- $1 concert_id, $2 lock class of the lines (src/db/locks.ts)
select queue_open_line($1::uuid, $2::int)
