-- name: lapse_holds :one
-- Tidying, not correctness: marks lapsed holds EXPIRED and frees their seats for listings and counts.
-- Every reader already treats them as lapsed. Reservation first, then seat. Also names the queue sessions
-- that ended with these lapses (they paid, and the user has no live hold left in the concert:
-- session_has_ended), for the caller to end in the queue store. $1 batch size
with lapsed as (
  update reservations r set status = 'EXPIRED', ended_at = r.expires_at
  where r.reservation_id in (
    select reservation_id from reservations
    where hold_has_lapsed(status, expires_at)
    order by expires_at
    limit $1::int
  ) and hold_has_lapsed(r.status, r.expires_at)
  returning r.reservation_id, r.schedule_id, r.seat_number, r.user_id, r.concert_id, r.queue_seq
), freed as (
  update seats s set status = 'AVAILABLE', reservation_id = null, hold_expires_at = null
  from lapsed l
  where s.schedule_id = l.schedule_id and s.seat_number = l.seat_number
    and s.reservation_id = l.reservation_id and hold_has_lapsed(s.status, s.hold_expires_at)
  returning 1
), ended as (
  select distinct l.user_id, l.concert_id, l.queue_seq
  from lapsed l
  where session_has_ended(l.user_id, l.concert_id, l.queue_seq)
)
select (select count(*) from lapsed) as lapsed, (select count(*) from freed) as freed,
  coalesce((select json_agg(json_build_object('userId', e.user_id, 'concertId', e.concert_id, 'seq', e.queue_seq)) from ended e), '[]') as ended
