-- name: list_schedules :many
-- A lapsed hold counts as available. $1 concert_id, $2 only schedules with an available seat
select *
from (
  select
    s.schedule_id,
    s.starts_at,
    s.total_seats,
    (select count(*) from seats st
     where st.schedule_id = s.schedule_id and st.status <> 'SOLD'
       and (st.status = 'AVAILABLE' or hold_has_lapsed(st.status, st.hold_expires_at))) as available_seats
  from schedules s
  where s.concert_id = $1::uuid
) x
where not $2::boolean or x.available_seats > 0
order by x.starts_at, x.schedule_id
