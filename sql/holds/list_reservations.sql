-- name: list_reservations :many
-- The user's reservations, newest first, keyset-paged. $1 user_id, $2 limit, $3 the last reservation_id
-- of the previous page (or null); a cursor that is not one of this user's reservations gives an empty page.
select reservation_id, schedule_id, seat_number, price,
  case when hold_has_lapsed(status, expires_at) then 'EXPIRED' else status end as status,
  expires_at, created_at
from reservations
where user_id = $1::text
  and ($3::uuid is null
    or (created_at, reservation_id) < (select b.created_at, b.reservation_id from reservations b
                                       where b.reservation_id = $3::uuid and b.user_id = $1::text))
order by created_at desc, reservation_id desc
limit $2::int
