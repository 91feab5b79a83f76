-- A payment and its answer as one call (one round trip, one implicit transaction): the rules of
-- src/idempotency/idempotency.ts for a payment, without the client transaction's round trips that each
-- wait on the one before (BEGIN, the key's lock, the key, SAVEPOINT, the payment, RELEASE, storing the
-- answer, COMMIT: 8 of them before this function, now 1).
--
-- With a key (p_key not null):
-- - the key's lock and stored answer first (sql/functions/idempotency_claim.sql): a stored answer is
--   returned with its fingerprint and nothing else happens (the caller compares the fingerprint: another
--   request under the same key is refused there);
-- - no stored answer and the lock taken by another request with this key -> IN_PROGRESS, nothing done;
-- - either of those two for a reservation of another concert than the queue token's -> 403 instead;
-- - then the payment (pay_reservation) in a block with an exception handler, i.e. a subtransaction: a
--   decline (CW001, CW002; sql/functions/pay_reservation.sql) undoes every step of it and is answered;
-- - an answer decided by the payment (201, 402, 409) is stored under the key in this same transaction:
--   the answer commits if and only if the effect does. An answer about the request (404 for a
--   reservation that is not this user's, 403 for another concert's session) is not stored, and the
--   payment changed nothing then; any other error leaves the function and undoes everything.
-- Without a key the same payment and answers, nothing locked, read or stored for a key.
--
-- The problem bodies stored are built by stored_problem (sql/functions/stored_problem.sql) from the
-- fixed part of each the caller passes (p_problems, by code) and the detail this function decides.
-- Returns one row: status, code (a problem's), detail (a problem's), body (the answer as stored: a 201's
-- always, a problem's only when stored), replayed, fingerprint (of a replayed answer), ends_session
-- (after a 201: the user has no other live hold in the concert, so the session ends), contended (in a
-- batch, p_wait false: the reservation was locked by another transaction; nothing was done or stored,
-- and the payment is to be asked again alone).
-- The commit waits for the disk (synchronous_commit stays on): a payment answered 201 is paid.
-- Plans: generic, with seq scans off (why: sql/functions/hold_seats.sql).
create or replace function pay_once(
  p_user_id text, p_key text, p_fingerprint text, p_lock_seed bigint, p_problems json,
  p_payment_id uuid, p_entry_id uuid, p_reservation_id uuid, p_concert_id uuid, p_queue_seq bigint,
  p_own_until timestamptz, p_store_ended boolean, p_wait boolean
) returns table (
  status int, code text, detail text, body json, replayed boolean, fingerprint text, ends_session boolean,
  contended boolean
) language plpgsql volatile set plan_cache_mode = force_generic_plan set enable_seqscan = off as $$
declare
  k record;
  v_paid boolean;
  v_price bigint;
  v_balance bigint;
  v_payment_id uuid;
  v_ends boolean := false;
  v_code text;
  v_detail text;
  v_state text;
  v_concert uuid;
  v_status int;
  v_body json;
  v_contended boolean;
  v_over text;
begin
  if p_key is not null then
    select * into k from idempotency_claim(p_user_id, p_key, p_lock_seed);
    -- A queue token of another concert is refused before a stored answer or a running request is
    -- answered: the key answers a retry of the same request, and one made in another concert's session
    -- is not that. (A payment that goes ahead refuses it below: pay_reservation finds nothing to pay.)
    if (k.fingerprint is not null or not k.locked) and exists (
      select 1 from reservations r
      where r.reservation_id = p_reservation_id and r.user_id = p_user_id and r.concert_id <> p_concert_id
    ) then
      return query select 403, 'QUEUE_NOT_ACTIVE', 'The queue token is for another concert', null::json, false,
        null::text, false, false;
      return;
    end if;
    if k.fingerprint is not null then
      return query select k.status, null::text, null::text, k.body, true, k.fingerprint, false, false;
      return;
    end if;
    if not k.locked then
      return query select 409, 'IDEMPOTENCY_IN_PROGRESS', 'A request with this Idempotency-Key is still running',
        null::json, false, null::text, false, false;
      return;
    end if;
  end if;

  begin
    select p.paid, p.price, p.balance, p.payment_id, p.ends_session, p.contended
    into v_paid, v_price, v_balance, v_payment_id, v_ends, v_contended
    from pay_reservation(p_payment_id, p_entry_id, p_reservation_id, p_user_id, p_concert_id, p_wait) p;
  exception
    when sqlstate 'CW001' then
      v_code := 'HOLD_EXPIRED';
      v_detail := 'The hold has lapsed';
    when sqlstate 'CW002' then
      get stacked diagnostics v_detail = pg_exception_detail;
      v_code := 'INSUFFICIENT_BALANCE';
      v_detail := 'The balance is lower than the price ' || v_detail;
  end;

  if v_contended then
    return query select null::int, null::text, null::text, null::json, false, null::text, false, true;
    return;
  end if;

  if v_code is null and v_paid then
    v_status := 201;
    v_body := json_build_object('paymentId', v_payment_id, 'reservationId', p_reservation_id, 'amount', v_price,
      'balance', v_balance, 'status', 'PAID');
  else
    if v_code is null then
      -- Nothing was payable and nothing changed: why (as sql/payments/reservation_state.sql).
      select r.concert_id, case when hold_has_lapsed(r.status, r.expires_at) then 'EXPIRED' else r.status end
      into v_concert, v_state
      from reservations r where r.reservation_id = p_reservation_id and r.user_id = p_user_id;
      if v_state is null then
        return query select 404, 'NOT_FOUND', 'No such reservation', null::json, false, null::text, false, false;
        return;
      elsif v_concert <> p_concert_id then
        return query select 403, 'QUEUE_NOT_ACTIVE', 'The queue token is for another concert', null::json, false,
          null::text, false, false;
        return;
      elsif v_state = 'PAID' then
        v_code := 'ALREADY_PAID';
        v_detail := 'This reservation is already paid';
      else
        -- The token's session may be over although the store's guard let this payment through: it is
        -- then answered as the guard answers it now (403, stored under no key), so that a payment decided
        -- after what ended the session answers as one sent after it. Over, and how:
        v_over := case
          -- A cancel or a lapse took its last live hold after it paid, or an operator ended it, and the
          -- queue store had not heard yet (the model-based test on the Redis store, a pay and a cancel of
          -- one hold at once: 409).
          when session_has_ended(p_user_id, p_concert_id, p_queue_seq) then
            'it paid and has nothing left held, or an operator ended it'
          -- The store had said the session is over (an operator ended it, or the store lost it), and the
          -- payment went ahead only to pay a hold of it that was live then (src/payments/payments.ts); a
          -- cancel or the lapse came first (helper-44: an operator's end, a cancel and a payment at once,
          -- 409 once in 20).
          when p_store_ended then
            'the queue store had ended it'
          -- The hold was cancelled by a cancel that ended its session: the session was past its own time
          -- (p_own_until, as the guard read it) and the cancel took its last live hold in the concert (a
          -- cancel shortens a session to its own time or its other live holds; the model-based test on
          -- the Postgres store: a payment and a cancel of one hold at once, 409).
          when v_state = 'CANCELLED' and exists (
            select 1 from reservations r
            where r.reservation_id = p_reservation_id and r.queue_seq = p_queue_seq and r.ended_at >= p_own_until
              and not exists (
                select 1 from reservations o
                where o.user_id = p_user_id and o.concert_id = r.concert_id and o.reservation_id <> r.reservation_id
                  and o.created_at <= r.ended_at and o.expires_at > r.ended_at and (o.ended_at is null or o.ended_at > r.ended_at))
          ) then
            'past its own time, its last live hold was cancelled'
        end;
        if v_over is not null then
          return query select 403, 'QUEUE_NOT_ACTIVE', 'The queue session is over: ' || v_over, null::json,
            false, null::text, false, false;
          return;
        end if;
        v_code := 'HOLD_EXPIRED';
        v_detail := 'The hold is ' || v_state || '; hold the seat again';
      end if;
    end if;
    v_status := (p_problems -> v_code ->> 'status')::int;
    if p_key is not null then
      v_body := stored_problem(p_problems, v_code, v_detail);
    end if;
  end if;

  if p_key is not null then
    insert into idempotency_keys (user_id, idempotency_key, fingerprint, response_status, response_body)
    values (p_user_id, p_key, p_fingerprint, v_status, v_body);
  end if;
  return query select v_status, v_code, v_detail, v_body, false, null::text, v_ends, false;
end
$$;
