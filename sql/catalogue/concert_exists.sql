-- name: concert_exists :one
-- $1 concert_id
select exists (select 1 from concerts where concert_id = $1::uuid) as found
