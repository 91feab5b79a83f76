-- The problem body an operation with an Idempotency-Key stores as its answer (pay_once, charge_once): the
-- body src/http/problems.ts problemBody() builds, key for key in its order (type, title, status, detail,
-- code), from the fixed part the caller passes by code (p_problems) and this answer's detail. json, not
-- jsonb, so that the first answer and every replay are the same text.
create or replace function stored_problem(p_problems json, p_code text, p_detail text) returns json
language sql immutable as $$
  select json_build_object('type', p_problems -> p_code ->> 'type', 'title', p_problems -> p_code ->> 'title',
    'status', (p_problems -> p_code ->> 'status')::int, 'detail', p_detail, 'code', p_code)
$$;
