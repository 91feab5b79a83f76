-- name: hold_seat :one
-- The seat hold (function hold_seat, sql/functions/hold_seat.sql): the user's lock, then one conditional
-- UPDATE of the seat and the reservation row, in one round trip and one transaction.
-- Returns one row: the reservation if the hold was made, else the facts that say why not.
-- $1 reservation_id, $2 user_id, $3 schedule_id, $4 seat_number, $5 hold ttl seconds, $6 max live holds,
-- $7 seq of the queue session the hold is made in
select * from hold_seat($1::uuid, $2::text, $3::uuid, $4::int, $5::int, $6::int, $7::bigint)
