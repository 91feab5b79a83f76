-- name: paid_session :one
-- After a replayed payment: its concert, and the user's other live holds there (the session ends at 0).
-- $1 reservation_id, $2 user_id
select r.concert_id,
  (select count(*) from reservations o
   where o.user_id = $2::text and o.concert_id = r.concert_id and hold_is_live(o.status, o.expires_at)) as other_live_holds
from reservations r
where r.reservation_id = $1::uuid and r.user_id = $2::text and r.status = 'PAID'
