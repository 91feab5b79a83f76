-- name: get_reservation :one
-- Another user's reservation is not found. A lapsed hold reads as EXPIRED.
-- $1 reservation_id, $2 user_id
select reservation_id, schedule_id, seat_number, price,
  case when hold_has_lapsed(status, expires_at) then 'EXPIRED' else status end as status,
  expires_at, created_at
from reservations
where reservation_id = $1::uuid and user_id = $2::text
