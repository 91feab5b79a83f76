-- A time as whole microseconds since the epoch: how the seat maps' reads hand times to the app
-- (src/catalogue/seat-states.ts), exact where milliseconds would round a hold's expiry. A plain SQL
-- function: the planner inlines it. Null stays null.
create or replace function epoch_us(t timestamptz) returns int8
language sql immutable parallel safe as $$
  select (extract(epoch from t) * 1000000)::int8
$$;
