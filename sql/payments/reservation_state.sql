-- name: reservation_state :one
-- Why a payment did not go through. $1 reservation_id, $2 user_id
select concert_id,
  case when hold_has_lapsed(status, expires_at) then 'EXPIRED' else status end as status
from reservations
where reservation_id = $1::uuid and user_id = $2::text
