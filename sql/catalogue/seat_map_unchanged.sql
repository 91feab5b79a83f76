-- name: seat_map_unchanged :one
-- Whether a seat map built earlier still says what a build now would: no seat of the schedule was written
-- by a transaction that the build's snapshot could not see (every seat write stamps written_by), and no
-- hold it showed as HELD has lapsed since (lapse is lazy: time alone turns HELD into AVAILABLE).
-- A transaction that was still running at the build stays invisible to that snapshot, so its write is
-- caught once it commits. pg_snapshot_xmin bounds the range: every transaction before it was visible.
-- The first such write in written_by order (LIMIT 1): the schedule's index of writers answers it from the
-- range it needs, and any other path has to read and sort every seat of the schedule, so no plan picks
-- one. As a plain EXISTS, a plan made while seats had the statistics of a new sale (every seat written by
-- the same transaction) read the whole table for each check (35,500 seats,
-- test/catalogue/catalogue-plans.test.ts).
-- $1 schedule_id, $2 the build's pg_current_snapshot(), $3 the first lapse it foresaw (null: none)
select not exists (
    select 1 from (
      select written_by from seats
      where schedule_id = $1::uuid
        and written_by >= pg_snapshot_xmin($2::pg_snapshot)
        and not pg_visible_in_snapshot(written_by, $2::pg_snapshot)
      order by written_by
      limit 1
    ) w
  )
  and ($3::timestamptz is null or now() < $3::timestamptz) as unchanged
