-- Which transaction wrote each seat row last (stamped by the trigger of sql/functions/seat_written.sql).
-- A seat map kept in memory stays good for as long as no seat of its schedule was written by a transaction
-- that the map's build could not see: sql/catalogue/seat_map_unchanged.sql asks exactly that, and this
-- index makes it a short range read of the seats written since, not a scan of 100,000 rows.
-- (A per-schedule version row would say it too, but every hold, payment and cancel of the schedule would
-- then queue on that one row's lock until it commits.)
alter table seats add column written_by xid8 not null default pg_current_xact_id();
create index seats_by_writer on seats (schedule_id, written_by);
