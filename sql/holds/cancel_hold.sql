-- name: cancel_hold :one
-- Releases a live hold at once (function cancel_hold, sql/functions/cancel_hold.sql), and says whether
-- the user's queue session should now end. No row when the reservation is not a live hold of this user.
-- $1 reservation_id, $2 user_id
select * from cancel_hold($1::uuid, $2::text)
