-- name: paid_session :one
-- After a replayed payment: the queue session its hold was made in, and the user's other live holds in
-- that concert (the session ends at 0). No row unless the reservation is this user's and PAID.
-- $1 reservation_id, $2 user_id
select r.concert_id, r.queue_seq,
  (select count(*) from reservations o
   where o.user_id = $2::text and o.concert_id = r.concert_id and hold_is_live(o.status, o.expires_at)) as other_live_holds
from reservations r
where r.reservation_id = $1::uuid and r.user_id = $2::text and r.status = 'PAID'
