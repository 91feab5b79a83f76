-- The lapse rule, in one place: a hold is live while HELD and before its expiry, and has lapsed once
-- HELD at or after it. Every statement that reads a hold asks one of these, so a lapsed hold is as good
-- as gone whether or not the lapse job has run. Plain SQL functions: the planner inlines them, so the
-- partial indexes on status = 'HELD' still apply. Seats use them too (status, hold_expires_at).
create or replace function hold_is_live(status text, expires_at timestamptz) returns boolean
language sql stable as $$
  select status = 'HELD' and expires_at > now()
$$;

create or replace function hold_has_lapsed(status text, expires_at timestamptz) returns boolean
language sql stable as $$
  select status = 'HELD' and expires_at <= now()
$$;
