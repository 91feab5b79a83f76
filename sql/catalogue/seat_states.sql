-- name: seat_states :one
-- Every seat of a schedule as the app keeps it to draw the schedule's maps (src/catalogue/seat-states.ts):
-- the status as stored, one character per seat in seat order (A, H, S; a lapsed hold is still H here, the
-- app compares its expiry with the time below), the prices as runs of consecutive seats, and the expiry of
-- every HELD seat. With them the snapshot the read saw, for sql/catalogue/seat_changes.sql to read only
-- the seats written since, and Postgres's time of the read. Times are microseconds since the epoch.
-- $1 schedule_id
with s as (
  select seat_number, price, left(status, 1) as c, hold_expires_at
  from seats
  where schedule_id = $1::uuid
), runs as (
  -- Seats of one price in a row share (seat_number - their rank among that price's seats).
  select min(seat_number) as first, max(seat_number) as last, price
  from (select seat_number, price, seat_number - row_number() over (partition by price order by seat_number) as run from s) r
  group by price, run
)
select
  (select coalesce(string_agg(c, '' order by seat_number), '') from s) as statuses,
  (select coalesce(json_agg(json_build_array(first, last, price) order by first), '[]') from runs)::text as prices,
  (select coalesce(json_agg(json_build_array(seat_number, epoch_us(hold_expires_at))), '[]')
   from s where c = 'H')::text as holds,
  pg_current_snapshot()::text as snapshot,
  epoch_us(now())::text as now_us
