-- name: undo_hold :one
-- Undoes a hold that must not stand (function undo_hold, sql/functions/undo_hold.sql).
-- $1 reservation_id, $2 user_id
select undo_hold($1::uuid, $2::text) as undone
