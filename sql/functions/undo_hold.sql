-- Undoes a hold that was made but must not stand (the queue session ended between the guard and the
-- hold): the reservation row goes and the seat is free again, as if the hold had never been made - a
-- refused request changes nothing a client can see. Lock order as every writer: user, reservation, seat.
-- Only a live hold of this user with no payment can be undone; returns whether one was.
-- Plans: generic, with seq scans off (why: sql/functions/hold_seat.sql).
create or replace function undo_hold(p_reservation_id uuid, p_user_id text) returns boolean
language plpgsql volatile set plan_cache_mode = force_generic_plan set enable_seqscan = off as $$
declare
  r record;
begin
  perform 1 from users u where u.user_id = p_user_id for update;

  delete from reservations x
  where x.reservation_id = p_reservation_id and x.user_id = p_user_id and x.status = 'HELD'
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
