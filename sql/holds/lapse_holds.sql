-- name: lapse_holds :one
-- Tidying, not correctness: marks lapsed holds EXPIRED and frees their seats for listings and counts.
-- Every reader already treats them as lapsed. Reservation first, then seat. $1 batch size
with lapsed as (
  update reservations r set status = 'EXPIRED', ended_at = r.expires_at
  where r.reservation_id in (
    select reservation_id from reservations
    where hold_has_lapsed(status, expires_at)
    order by expires_at
    limit $1::int
  ) and hold_has_lapsed(r.status, r.expires_at)
  returning r.reservation_id, r.schedule_id, r.seat_number
), freed as (
  update seats s set status = 'AVAILABLE', reservation_id = null, hold_expires_at = null
  from lapsed l
  where s.schedule_id = l.schedule_id and s.seat_number = l.seat_number
    and s.reservation_id = l.reservation_id and hold_has_lapsed(s.status, s.hold_expires_at)
  returning 1
)
select (select count(*) from lapsed) as lapsed, (select count(*) from freed) as freed
