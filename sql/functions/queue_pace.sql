-- Admissions per second of line `line` over the last minute, measured from the first admission inside that
-- minute; null when nobody was admitted in it. Every join and poll reads it.
-- A plpgsql function so that its plan is made once per connection: as a SQL function (which Postgres
-- cannot inline, having a FROM) its query was planned anew on every call, 150-170 us of a poll's
-- Postgres time, for a read of at most 60 rows by key.
create or replace function queue_admitted_per_second(line uuid) returns double precision
language plpgsql stable set plan_cache_mode = force_generic_plan as $$
declare
  this_second constant bigint := floor(extract(epoch from now()))::bigint;
begin
  return (select sum(admitted)::double precision / (this_second - min(second) + 1)
          from queue_admissions
          where concert_id = line and second > this_second - 60);
end
$$;
