-- Each admission step records, for its second, how many sessions were live before the second's first
-- step and after its last: over the kept minute, the sessions that ended are the admissions less the
-- growth of the live count, and a wait estimate counts on places coming free that fast
-- (sql/functions/queue_pace.sql). Null on the rows of steps before this migration, which then measure
-- nothing for their minute.
alter table queue_admissions
  add column active_before int check (active_before >= 0),
  add column active_after int check (active_after >= 0);

-- The pace read by joins and polls is now the live count and the ended sessions per second, not the
-- admissions per second: the functions are re-created from their files after the migrations, with the
-- new columns, which a CREATE OR REPLACE cannot change.
drop function if exists queue_admitted_per_second(uuid);
drop function if exists queue_poll_places(uuid, bigint[], text[], int, double precision);
drop function if exists queue_join_places(uuid, text[], int, bigint, int);
