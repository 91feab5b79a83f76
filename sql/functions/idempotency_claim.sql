-- The first step of an operation that runs with an Idempotency-Key as one plpgsql call (pay_once,
-- charge_once): the key's transaction-scoped advisory lock (as a request still running holds it), then
-- the stored answer, read by its own statement after the lock, so that it sees whatever the previous
-- holder of the lock committed (a VOLATILE plpgsql function takes a fresh snapshot per statement).
-- Returns one row: the stored answer (status, body, fingerprint; all null when none is stored) and whether
-- this call holds the lock. A stored answer is the answer even when the lock was taken: its holder can
-- then only be another retry replaying it. No stored answer and no lock: the first request is still
-- running (IDEMPOTENCY_IN_PROGRESS). The caller stores its answer under the key in the same transaction
-- as its effect, so that the answer commits if and only if the effect does.
create or replace function idempotency_claim(p_user_id text, p_key text, p_lock_seed bigint)
returns table (status int, body json, fingerprint text, locked boolean)
language plpgsql volatile set plan_cache_mode = force_generic_plan set enable_seqscan = off as $$
declare
  v_locked boolean;
begin
  v_locked := pg_try_advisory_xact_lock(hashtextextended(p_user_id || chr(31) || p_key, p_lock_seed));
  return query
  select i.response_status, i.response_body, i.fingerprint, v_locked
  from (select 1) one
  left join idempotency_keys i on i.user_id = p_user_id and i.idempotency_key = p_key;
end
$$;
