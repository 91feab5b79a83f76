-- name: hold_seats :many
-- Seat holds of distinct users, ascending, as one call (function hold_seats, sql/functions/hold_seats.sql):
-- the users' locks, then one statement for every hold of the batch: the conditional UPDATEs of the seats
-- and the reservation rows.
-- Returns a row per hold, by n (1-based place in the arrays): the reservation if the hold was made, else
-- the facts that say why not, or contended (ask again alone, waiting).
-- $1 reservation_ids, $2 user_ids, $3 schedule_ids, $4 seat_numbers, $5 seqs of the queue sessions the
-- holds are made in, $6 hold ttl seconds, $7 max live holds, $8 wait for a locked seat (a batch of one)
select * from hold_seats($1::uuid[], $2::text[], $3::uuid[], $4::int[], $5::bigint[], $6::int, $7::int, $8::boolean)
