-- name: pg_open_line :exec
-- $1 concert_id
insert into queue_lines (concert_id) values ($1::uuid) on conflict (concert_id) do nothing
