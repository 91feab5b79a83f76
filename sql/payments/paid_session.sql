-- name: paid_session :one
-- After a replayed payment: the queue session its hold was made in, and whether it has ended (it paid and
-- the user has no live hold left in the concert). No row unless the reservation is this user's and PAID.
-- $1 reservation_id, $2 user_id
select r.concert_id, r.queue_seq, session_has_ended(r.user_id, r.concert_id, r.queue_seq) as ends_session
from reservations r
where r.reservation_id = $1::uuid and r.user_id = $2::text and r.status = 'PAID'
