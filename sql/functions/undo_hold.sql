-- Undoes a hold that was made but must not stand (the queue session ended between the guard and the
-- hold): the reservation row goes and the seat is free again, as if the hold had never been made - a
-- refused request changes nothing a client can see. Lock order as every writer: user, reservation, seat.
-- Only a hold of this user with no payment can be undone: a live one, or one an operator's end of the
-- session released while the hold was on its way (sql/functions/end_session_holds.sql: it sees the hold
-- as live, and the hold then answers 403 as the store no longer extends the session). Nothing of a
-- refused hold may remain, also not a CANCELLED reservation in the user's list (hostile probe: 58 of 112
-- holds racing an end). Returns whether one was undone.
-- Plans: generic, with seq scans off (why: sql/functions/hold_seats.sql).
create or replace function undo_hold(p_reservation_id uuid, p_user_id text) returns boolean
language plpgsql volatile set plan_cache_mode = force_generic_plan set enable_seqscan = off as $$
declare
  r record;
begin
  perform 1 from users u where u.user_id = p_user_id for update;

  delete from reservations x
  where x.reservation_id = p_reservation_id and x.user_id = p_user_id and x.status in ('HELD', 'CANCELLED')
  returning x.schedule_id, x.seat_number into r;
  if not found then
    return false;
  end if;

  update seats s set status = 'AVAILABLE', reservation_id = null, hold_expires_at = null
  where s.schedule_id = r.schedule_id and s.seat_number = r.seat_number
    and s.reservation_id = p_reservation_id and s.status = 'HELD';
  return true;
end
$$;
