-- name: sold_out_concerts :many
-- Which of the concerts $1 have no seat left that is AVAILABLE or HELD (SOLD is final).
-- Each schedule asks for its first unsold seat and stops there (ORDER BY seat_number LIMIT 1, which the
-- index of unsold seats answers with its first entry; any other path has to read and sort every seat of
-- the schedule, so no plan picks one). As a join of schedules and seats, a plan made while seats had the
-- statistics of a new sale (every seat AVAILABLE) read every seat of every concert in a hash join, each
-- admission tick (35,500 seats, test/catalogue/catalogue-plans.test.ts).
select c.concert_id
from unnest($1::uuid[]) as c(concert_id)
where exists (select 1 from concerts where concert_id = c.concert_id)
  and not exists (
    select 1 from schedules s
    cross join lateral (
      select 1 from seats st where st.schedule_id = s.schedule_id and st.status <> 'SOLD' order by st.seat_number limit 1
    ) unsold
    where s.concert_id = c.concert_id
  )
