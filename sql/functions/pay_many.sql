-- Payments of several users at once, as one call (one round trip, one implicit transaction, one commit):
-- each decided and answered exactly as pay_once decides and answers it alone (sql/functions/pay_once.sql),
-- its Idempotency-Key and stored answer included. The users are distinct (the caller batches a user once).
-- Returns pay_once's row for each payment, with n, its place in the arrays.
--
-- Why batches: as for holds (sql/functions/hold_seats.sql), a payment's cost in Postgres is mostly its
-- transaction; payments that arrive together share one commit.
--
-- Deadlocks: every user row of the batch is locked first, in ascending order (a locking SELECT locks
-- rows in the order it returns them), as every batch and every single writer locks users before anything
-- else. After that a batch (p_wait false) does not wait for a reservation's row: one that another
-- transaction holds (the lapse job locks reservations, then seats, and never a user) is answered
-- `contended` and asked again alone. What a batch may still wait for cannot wait for it in turn: a seat
-- locked by a batch of holds (which never waits once it takes seats), a balance locked by a batch of
-- charges (balances only, ascending, as payments here take them).
-- Plans: generic, with seq scans off (why: sql/functions/hold_seats.sql).
create or replace function pay_many(
  p_user_ids text[], p_keys text[], p_fingerprints text[], p_payment_ids uuid[], p_entry_ids uuid[],
  p_reservation_ids uuid[], p_concert_ids uuid[], p_queue_seqs bigint[], p_own_untils timestamptz[], p_store_endeds boolean[], p_lock_seed bigint, p_problems json,
  p_wait boolean
) returns table (
  n int, status int, code text, detail text, body json, replayed boolean, fingerprint text, ends_session boolean,
  contended boolean
) language plpgsql volatile set plan_cache_mode = force_generic_plan set enable_seqscan = off as $$
declare
  i int;
begin
  perform 1 from users u where u.user_id = any(p_user_ids) order by u.user_id for update;
  for i in 1 .. coalesce(array_length(p_user_ids, 1), 0) loop
    return query select i, p.* from pay_once(p_user_ids[i], p_keys[i], p_fingerprints[i], p_lock_seed, p_problems,
      p_payment_ids[i], p_entry_ids[i], p_reservation_ids[i], p_concert_ids[i], p_queue_seqs[i], p_own_untils[i], p_store_endeds[i], p_wait) p;
  end loop;
end
$$;
