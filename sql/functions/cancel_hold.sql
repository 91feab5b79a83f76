-- Releases a live hold at once. Like holds and payments it first takes the user's row lock, so that
-- what it reports about the user's session is decided in the same order as their holds and payments:
-- a payment that saw this hold as live (and so kept the session open) has committed before, and the
-- cancel then sees that the session was paid for and has no live hold left: the cancel ends the session
-- (ends_session; a later hold of it is refused, sql/functions/hold_seats.sql), and the caller ends it in
-- the queue store; otherwise live_until (when the user's last live hold there lapses) tells how long the
-- session is still needed.
-- Lock order: user, reservation, seat.
-- Returns no row when the reservation is not a live hold of this user.
-- Plans: generic, with seq scans off (why: sql/functions/hold_seats.sql).
create or replace function cancel_hold(p_reservation_id uuid, p_user_id text)
returns table (
  reservation_id uuid, schedule_id uuid, seat_number int, price bigint, status text,
  expires_at timestamptz, created_at timestamptz, concert_id uuid, queue_seq bigint,
  live_until timestamptz, ends_session boolean
) language plpgsql volatile set plan_cache_mode = force_generic_plan set enable_seqscan = off as $$
declare
  c record;
begin
  perform 1 from users u where u.user_id = p_user_id for update;

  update reservations r set status = 'CANCELLED', ended_at = now()
  where r.reservation_id = p_reservation_id and r.user_id = p_user_id and hold_is_live(r.status, r.expires_at)
  returning r.reservation_id, r.schedule_id, r.seat_number, r.price, r.status, r.expires_at, r.created_at,
    r.concert_id, r.queue_seq
  into c;
  if not found then
    return;
  end if;

  update seats s set status = 'AVAILABLE', reservation_id = null, hold_expires_at = null
  where s.schedule_id = c.schedule_id and s.seat_number = c.seat_number
    and s.reservation_id = c.reservation_id and s.status = 'HELD';

  return query select c.reservation_id, c.schedule_id, c.seat_number, c.price, c.status, c.expires_at,
    c.created_at, c.concert_id, c.queue_seq,
    (select max(o.expires_at) from reservations o
     where o.user_id = p_user_id and o.concert_id = c.concert_id and hold_is_live(o.status, o.expires_at)),
    session_has_ended(p_user_id, c.concert_id, c.queue_seq);
end
$$;
