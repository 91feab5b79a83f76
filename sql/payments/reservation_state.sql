-- name: reservation_state :one
-- Why a payment did not go through, and whether the reservation is a hold made in the session `$3`.
-- $1 reservation_id, $2 user_id, $3 queue_seq of the payment's session
select concert_id,
  case when hold_has_lapsed(status, expires_at) then 'EXPIRED' else status end as status,
  queue_seq is not distinct from $3::bigint as in_session
from reservations
where reservation_id = $1::uuid and user_id = $2::text
