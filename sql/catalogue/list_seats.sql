-- name: list_seats :one
-- The seat map of a schedule as one JSON array, built by Postgres: the app passes the text through.
-- A lapsed hold is shown as AVAILABLE. $1 schedule_id, $2 only available seats
select coalesce(json_agg(json_build_object('number', seat_number, 'price', price, 'status', status) order by seat_number), '[]')::text as seats
from (
  select seat_number, price,
    case when hold_has_lapsed(status, hold_expires_at) then 'AVAILABLE' else status end as status
  from seats
  where schedule_id = $1::uuid
) x
where not $2::boolean or x.status = 'AVAILABLE'
