-- name: pg_poll_many :many
-- The statuses of several places of line $1 in one statement (sql/functions/queue_poll_places.sql): one
-- row per place found, ord = its index in the arrays from 1; a place not found is EXPIRED to the caller.
-- $1 concert_id, $2 seqs (bigint[]), $3 user_ids (text[], same order), $4 waiting idle seconds,
-- $5 heartbeat min age (seconds; 0 for polls, see the function)
select * from queue_poll_places($1::uuid, $2::bigint[], $3::text[], $4::int, $5::double precision)
