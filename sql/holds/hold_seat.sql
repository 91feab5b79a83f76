-- name: hold_seat :one
-- The seat hold: one conditional UPDATE decides the race for the seat. A lapsed hold is as good as
-- AVAILABLE. Runs after lock_user in the same transaction, so live_holds is exact for this user.
-- Returns one row: the reservation if the hold was made, else the facts that say why not.
-- $1 reservation_id, $2 user_id, $3 schedule_id, $4 seat_number, $5 hold ttl seconds, $6 max live holds
with live_holds as (
  select count(*) as n from reservations
  where user_id = $2::text and status = 'HELD' and expires_at > now()
), seat as (
  update seats
  set status = 'HELD', reservation_id = $1::uuid, hold_expires_at = now() + make_interval(secs => $5::int)
  where schedule_id = $3::uuid and seat_number = $4::int
    and (status = 'AVAILABLE' or (status = 'HELD' and hold_expires_at <= now()))
    and (select n from live_holds) < $6::int
  returning schedule_id, seat_number, price, hold_expires_at
), reservation as (
  insert into reservations (reservation_id, user_id, concert_id, schedule_id, seat_number, price, status, expires_at)
  select $1::uuid, $2::text, sc.concert_id, seat.schedule_id, seat.seat_number, seat.price, 'HELD', seat.hold_expires_at
  from seat join schedules sc using (schedule_id)
  returning reservation_id, schedule_id, seat_number, price, status, expires_at, created_at
)
select
  r.*,
  (select n from live_holds) as live_holds,
  exists (select 1 from seats where schedule_id = $3::uuid and seat_number = $4::int) as seat_exists
from (select 1) one
left join reservation r on true
