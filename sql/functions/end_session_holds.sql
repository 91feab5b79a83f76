-- An operator ended queue session p_queue_seq of a user in a concert (the queue store has ended it
-- already): it is recorded, so that holds refuse it from now on (sql/functions/hold_seats.sql), and the
-- live holds made in it are released at once (CANCELLED, their seats AVAILABLE). Those holds could not be
-- paid any more - a payment needs an ACTIVE session - and would otherwise keep their seats from everyone
-- until they lapse. Taken under the user's row lock, as holds, payments and cancels are: a payment that
-- committed first keeps what it paid; a hold decided after this is refused.
-- A payment that committed before this and left nothing held had ended the session already (the store
-- hears of it after the commit, so the operator's end reached the store first): then nothing is recorded
-- or released, and -1 says the session was over, as it would have been found had the payment's end
-- reached the store first (helper-41: a payment and an operator's end at once, 14 of 30 answered 201 and
-- 200, which no order of the two explains).
-- Lock order as every writer: user, reservation, seat. Returns the number of holds released, or -1.
-- Plans: generic, with seq scans off (why: sql/functions/hold_seats.sql).
create or replace function end_session_holds(p_user_id text, p_concert_id uuid, p_queue_seq bigint) returns int
language plpgsql volatile set plan_cache_mode = force_generic_plan set enable_seqscan = off as $$
declare
  v_released int;
begin
  insert into users as u (user_id) values (p_user_id)
  on conflict (user_id) do update set user_id = excluded.user_id where false;

  if session_has_ended(p_user_id, p_concert_id, p_queue_seq) then
    return -1;
  end if;

  insert into queue_sessions_ended (user_id, concert_id, queue_seq) values (p_user_id, p_concert_id, p_queue_seq)
  on conflict do nothing;

  -- A data-modifying WITH runs to completion whether or not its rows are read.
  with released as (
    update reservations r set status = 'CANCELLED', ended_at = now()
    where r.user_id = p_user_id and r.concert_id = p_concert_id and r.queue_seq = p_queue_seq
      and hold_is_live(r.status, r.expires_at)
    returning r.reservation_id, r.schedule_id, r.seat_number
  ), freed as (
    update seats s set status = 'AVAILABLE', reservation_id = null, hold_expires_at = null
    from released x
    where s.schedule_id = x.schedule_id and s.seat_number = x.seat_number
      and s.reservation_id = x.reservation_id and s.status = 'HELD'
    returning 1
  )
  select count(*) into v_released from released;
  return v_released;
end
$$;
