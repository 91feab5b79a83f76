-- The lapse rule, in one place: a hold is live while HELD and before its expiry. Every statement that
-- reads a hold asks this, so a lapsed hold is as good as gone whether or not the lapse job has run.
-- A plain SQL function: the planner inlines it, so partial indexes on status = 'HELD' still apply.
create or replace function hold_is_live(status text, expires_at timestamptz) returns boolean
language sql stable as $$
  select status = 'HELD' and expires_at > now()
$$;
