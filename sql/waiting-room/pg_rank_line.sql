-- name: pg_rank_line :exec
-- The end of an admission step: ranks the line for the positions until the next step.
-- $1 concert_id, $2 waiting idle seconds
select queue_rank_line($1::uuid, $2::int)
