-- name: pay :one
-- The payment (function pay_reservation, sql/functions/pay_reservation.sql): reservation HELD -> PAID,
-- seat HELD -> SOLD, the debit, its ledger entry and the payment row, all or nothing, in one round trip.
-- A declined payment raises one of the SQLSTATEs of src/db/declines.ts and changes nothing.
-- $1 payment_id, $2 ledger entry_id, $3 reservation_id, $4 user_id, $5 concert_id of the queue session
select * from pay_reservation($1::uuid, $2::uuid, $3::uuid, $4::text, $5::uuid)
