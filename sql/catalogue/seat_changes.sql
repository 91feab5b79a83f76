-- name: seat_changes :one
-- The seats of a schedule written since an earlier read (sql/catalogue/seat_states.sql or this one): those
-- whose last writer (seats.written_by, stamped by every write: sql/functions/seat_written.sql) that read's
-- snapshot could not see, as [seat, status (A, H, S), price, hold expiry or null]. A transaction still
-- running at that read stays invisible to its snapshot, so its writes are read here once it has committed.
-- pg_snapshot_xmin bounds the range below: every transaction before it was visible. With them this read's
-- snapshot and Postgres's time (microseconds since the epoch), for the next.
-- The bound above (this read's xmax: no row it sees was written by a later transaction) changes nothing
-- but the plan: a range with both ends is estimated at a few rows and read from the schedule's index of
-- writers. With the lower end only, a plan made while seats had the statistics of a new sale (every seat
-- written by one transaction) read every seat of the table (test/catalogue/catalogue-plans.test.ts).
-- $1 schedule_id, $2 the earlier read's pg_current_snapshot()
select
  (select coalesce(json_agg(json_build_array(
       w.seat_number, left(w.status, 1), w.price, epoch_us(w.hold_expires_at))), '[]')
   from (
     select seat_number, status, price, hold_expires_at from seats
     where schedule_id = $1::uuid
       and written_by between pg_snapshot_xmin($2::pg_snapshot) and pg_snapshot_xmax(pg_current_snapshot())
       and not pg_visible_in_snapshot(written_by, $2::pg_snapshot)
   ) w)::text as changes,
  pg_current_snapshot()::text as snapshot,
  epoch_us(now())::text as now_us
