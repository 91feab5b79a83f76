-- A charge with an Idempotency-Key and its answer as one call (one round trip, one implicit transaction),
-- by the same rules as a payment's (sql/functions/pay_once.sql): the key's lock and stored answer
-- (idempotency_claim), then the charge, then its answer stored under the key in the same transaction.
-- The charge is one statement: the balance goes up unless it would pass p_max_balance, and the ledger
-- entry is written with it. Both answers are decided by the charge and stored: 201 with the charge, or
-- 422 BALANCE_LIMIT (nothing changed), whose problem body is built by stored_problem from p_problems
-- and the detail here, as pay_once builds its problems.
-- Returns one row: status, code and detail (a problem's), body (the answer as stored), replayed,
-- fingerprint (of a replayed answer). (Charges without a key share statements instead:
-- sql/balance/charge_many.sql.)
create or replace function charge_once(
  p_user_id text, p_key text, p_fingerprint text, p_lock_seed bigint, p_problems json,
  p_entry_id uuid, p_amount bigint, p_max_balance bigint
) returns table (status int, code text, detail text, body json, replayed boolean, fingerprint text)
language plpgsql volatile set plan_cache_mode = force_generic_plan set enable_seqscan = off as $$
declare
  k record;
  v_balance bigint;
  v_status int;
  v_body json;
  v_code text;
  v_detail text;
begin
  select * into k from idempotency_claim(p_user_id, p_key, p_lock_seed);
  if k.fingerprint is not null then
    return query select k.status, null::text, null::text, k.body, true, k.fingerprint;
    return;
  end if;
  if not k.locked then
    return query select 409, 'IDEMPOTENCY_IN_PROGRESS', 'A request with this Idempotency-Key is still running',
      null::json, false, null::text;
    return;
  end if;

  with credited as (
    insert into balances as b (user_id, balance)
    select p_user_id, p_amount where p_amount <= p_max_balance
    on conflict (user_id) do update
      set balance = b.balance + excluded.balance, updated_at = now()
      where b.balance + excluded.balance <= p_max_balance
    returning b.balance
  ), entry as (
    insert into ledger (entry_id, user_id, kind, amount, balance_after)
    select p_entry_id, p_user_id, 'CHARGE', p_amount, c.balance from credited c
    returning ledger.entry_id
  )
  select c.balance into v_balance from credited c cross join entry e;

  if v_balance is not null then
    v_status := 201;
    v_body := json_build_object('chargeId', p_entry_id, 'amount', p_amount, 'balance', v_balance);
  else
    v_code := 'BALANCE_LIMIT';
    v_detail := 'A balance cannot exceed ' || p_max_balance;
    v_status := (p_problems -> v_code ->> 'status')::int;
    v_body := stored_problem(p_problems, v_code, v_detail);
  end if;

  insert into idempotency_keys (user_id, idempotency_key, fingerprint, response_status, response_body)
  values (p_user_id, p_key, p_fingerprint, v_status, v_body);
  return query select v_status, v_code, v_detail, v_body, false, null::text;
end
$$;
