-- name: create_concert :exec
-- A concert, its schedules and their seats numbered 1..N, in one statement.
-- $1 concert_id, $2 title, $3 schedule ids, $4 start times, $5 seat counts, $6 prices
with concert as (
  insert into concerts (concert_id, title) values ($1::uuid, $2::text)
  returning concert_id
), schedule as (
  insert into schedules (schedule_id, concert_id, starts_at, total_seats)
  select x.schedule_id, concert.concert_id, x.starts_at, x.seat_count
  from concert, unnest($3::uuid[], $4::timestamptz[], $5::int[]) as x(schedule_id, starts_at, seat_count)
  returning schedule_id
)
insert into seats (schedule_id, seat_number, price)
select x.schedule_id, n, x.price
from unnest($3::uuid[], $5::int[], $6::bigint[]) as x(schedule_id, seat_count, price)
cross join generate_series(1, x.seat_count) as n
