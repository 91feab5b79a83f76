-- name: pg_finish :exec
-- $1 seq, $2 concert_id, $3 user_id
-- Found by its key alone; the rest is one IS TRUE test no index serves (see pg_extend_many.sql).
update queue_sessions set status = 'DONE', ended_at = now()
where seq = $1::bigint and (concert_id = $2::uuid and user_id = $3::text and status = 'ACTIVE') is true
