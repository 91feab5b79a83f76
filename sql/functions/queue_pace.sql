-- How fast places of line `line` come free, from the admission steps of the last minute (the Redis store's
-- pace(), src/waiting-room/redis/lib.lua): the sessions live after the latest step, the sessions that
-- ended per second, measured from the first step inside that minute, and how many were live after the
-- steps on average. Each second of steps keeps the live count before its first step and after its last;
-- every session admitted over the kept seconds either is still live or has ended, so the ended ones are
-- the admissions less the growth of the live count, from before the first step to after the last. Nulls
-- when no step ran in the minute (or only steps from before migration 000020, which did not record the
-- live counts). Every join and poll reads it; the wait estimate is worked out from it
-- (src/waiting-room/queue-status.ts).
-- A plpgsql function so that its plan is made once per connection: as a SQL function (which Postgres
-- cannot inline, having a FROM) its query was planned anew on every call, 150-170 us of a poll's
-- Postgres time, for a read of at most 60 rows by key.
create or replace function queue_line_pace(line uuid) returns table (line_active bigint, ended_per_second double precision, live_average double precision)
language plpgsql stable set plan_cache_mode = force_generic_plan as $$
declare
  this_second constant bigint := floor(extract(epoch from now()))::bigint;
begin
  return query
  with kept as (
    select a.second, a.admitted, a.active_before, a.active_after from queue_admissions a
    where a.concert_id = line and a.second > this_second - 60
  ), first_step as (
    select k.second, k.active_before from kept k order by k.second limit 1
  ), last_step as (
    select k.active_after from kept k order by k.second desc limit 1
  )
  select l.active_after::bigint,
    ((select sum(k.admitted) from kept k) - (l.active_after - f.active_before))::double precision / (this_second - f.second + 1),
    (select avg(k.active_after) from kept k)::double precision
  from first_step f cross join last_step l
  where f.active_before is not null and l.active_after is not null
  union all
  -- One row always: nulls when nothing was measured.
  select null, null, null
  limit 1;
end
$$;
