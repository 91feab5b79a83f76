-- name: sold_out_concerts :many
-- Which of the concerts $1 have no seat left that is AVAILABLE or HELD (SOLD is final).
select c.concert_id
from unnest($1::uuid[]) as c(concert_id)
where exists (select 1 from concerts where concert_id = c.concert_id)
  and not exists (
    select 1 from schedules s join seats st on st.schedule_id = s.schedule_id and st.status <> 'SOLD'
    where s.concert_id = c.concert_id
  )
