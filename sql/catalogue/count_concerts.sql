-- name: count_concerts :one
select count(*) as concerts from concerts
