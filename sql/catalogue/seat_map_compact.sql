-- name: seat_map_compact :one
-- The compact seat map of a schedule, built by Postgres as JSON text: one character per seat in seat
-- order (A available, a lapsed hold included; H held; S sold) and the prices as runs of seats. A
-- 100,000-seat map is about 100 KB instead of about 5 MB. With it, as for the full map (list_seats.sql),
-- the snapshot it was read in and the first lapse of a hold it shows as H. $1 schedule_id
with s as (
  select seat_number, price, hold_expires_at,
    case when status = 'AVAILABLE' or hold_has_lapsed(status, hold_expires_at) then 'A' when status = 'HELD' then 'H' else 'S' end as c
  from seats
  where schedule_id = $1::uuid
), runs as (
  -- Seats of one price in a row share (seat_number - their rank among that price's seats).
  select min(seat_number) as first, max(seat_number) as last, price
  from (select seat_number, price, seat_number - row_number() over (partition by price order by seat_number) as run from s) r
  group by price, run
)
select json_build_object(
    'seats', (select count(*) from s),
    'status', (select coalesce(string_agg(c, '' order by seat_number), '') from s),
    'prices', (select coalesce(json_agg(json_build_object('from', first, 'to', last, 'price', price) order by first), '[]') from runs)
  )::text as map,
  pg_current_snapshot()::text as snapshot,
  (select min(hold_expires_at) from s where c = 'H')::text as next_lapse
