-- A queue session that paid ends once the user has no live hold left in its concert (PRODUCT.md: "a
-- payment ends the session (DONE) once the user has no live hold left in that concert"), whether the last
-- one was paid, cancelled or lapsed. True when session p_queue_seq of the user in the concert has a PAID
-- reservation and the user holds nothing live there, or when an operator ended it (queue_sessions_ended,
-- recorded with the release of its holds: sql/functions/end_session_holds.sql; the store has ended it
-- already, so a caller that then ends it in the store changes nothing). Holds, payments and cancels ask
-- it under the user's lock, so what it says is decided in the same order as they are; the queue store is
-- told afterwards.
-- plpgsql, not SQL: Postgres does not inline a SQL function with a subquery, and runs such a function by
-- planning its body on every call (a third of a hold's database time, measured: direct holds 3,227-3,474
-- -> 2,046-2,419 per second); a plpgsql function keeps its plan for the connection.
-- No SET clauses of its own (each costs a save and restore of the setting on every call): called from
-- hold_seats, cancel_hold and the lapse job's statement, it plans under the settings of its caller.
create or replace function session_has_ended(p_user_id text, p_concert_id uuid, p_queue_seq bigint) returns boolean
language plpgsql stable as $$
begin
  return p_queue_seq is not null and (
    exists (
      select 1 from queue_sessions_ended e
      where e.user_id = p_user_id and e.concert_id = p_concert_id and e.queue_seq = p_queue_seq)
    or exists (
      select 1 from reservations p
      where p.user_id = p_user_id and p.concert_id = p_concert_id and p.queue_seq = p_queue_seq and p.status = 'PAID')
    and not exists (
      select 1 from reservations o
      where o.user_id = p_user_id and o.concert_id = p_concert_id and hold_is_live(o.status, o.expires_at)));
end
$$;
