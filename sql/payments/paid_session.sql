-- name: paid_session :one
-- After a replayed payment: the queue session its hold was made in, and whether the payment ended it
-- (ends_session, decided when it was paid). No row unless the reservation is this user's and PAID.
-- $1 reservation_id, $2 user_id
select r.concert_id, r.queue_seq, r.ends_session
from reservations r
where r.reservation_id = $1::uuid and r.user_id = $2::text and r.status = 'PAID'
