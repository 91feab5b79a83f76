-- name: list_reservations :many
-- The user's reservations, newest first. $1 user_id, $2 limit
select reservation_id, schedule_id, seat_number, price,
  case when hold_has_lapsed(status, expires_at) then 'EXPIRED' else status end as status,
  expires_at, created_at
from reservations
where user_id = $1::text
order by created_at desc, reservation_id desc
limit $2::int
