-- name: ping :one
select 1 as ok
