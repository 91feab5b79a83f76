-- name: list_seats :many
-- A lapsed hold is shown as AVAILABLE. $1 schedule_id, $2 only available seats
select seat_number as number, price, status
from (
  select seat_number, price,
    case when status = 'HELD' and hold_expires_at <= now() then 'AVAILABLE' else status end as status
  from seats
  where schedule_id = $1::uuid
) x
where not $2::boolean or x.status = 'AVAILABLE'
order by seat_number
