-- Which transaction wrote each seat row last (stamped by the trigger of sql/functions/seat_written.sql).
-- The seats kept in memory for a schedule's maps are brought up to date with the seats written by
-- transactions their last read could not see: sql/catalogue/seat_changes.sql reads exactly those, and this
-- index makes it a short range read of the seats written since, not a scan of 100,000 rows.
-- (A per-schedule version row would say it too, but every hold, payment and cancel of the schedule would
-- then queue on that one row's lock until it commits.)
alter table seats add column written_by xid8 not null default pg_current_xact_id();
create index seats_by_writer on seats (schedule_id, written_by);
