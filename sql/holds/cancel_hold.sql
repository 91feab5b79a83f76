-- name: cancel_hold :one
-- Releases a live hold at once: reservation first, then its seat (the lock order of every writer).
-- Returns no row when the reservation is not a live hold of this user.
-- $1 reservation_id, $2 user_id
with reservation as (
  update reservations set status = 'CANCELLED', ended_at = now()
  where reservation_id = $1::uuid and user_id = $2::text and status = 'HELD' and expires_at > now()
  returning reservation_id, schedule_id, seat_number, price, status, expires_at, created_at
), seat as (
  update seats s set status = 'AVAILABLE', reservation_id = null, hold_expires_at = null
  from reservation r
  where s.schedule_id = r.schedule_id and s.seat_number = r.seat_number
    and s.reservation_id = r.reservation_id and s.status = 'HELD'
)
select * from reservation
