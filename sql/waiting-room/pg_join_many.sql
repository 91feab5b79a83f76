-- name: pg_join_many :many
-- Joins the line of $1 for each user of $2, or returns a user's live place (sql/functions/queue_join_places.sql):
-- one row per user. sold_out is null when the line row does not exist yet; seq is null when the user's live
-- place has already lapsed (the caller expires it and joins again).
-- $1 concert_id, $2 user_ids (text[], distinct), $3 waiting idle seconds, $4 lock class of the lines
-- (src/db/locks.ts), $5 opens at (epoch ms) or null
select * from queue_join_places($1::uuid, $2::text[], $3::int, $4::int, $5::bigint)
