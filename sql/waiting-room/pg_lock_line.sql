-- name: pg_lock_line :one
-- Admission steps of one line run one at a time: each takes this row lock first, in its own statement,
-- so that the step's counts are read after the previous step committed. It also takes the line's lock
-- exclusively: joins and ended places in flight finish first, and new ones wait for the step's commit,
-- so that the ranking at its end sees the line whole (sql/functions/queue_place.sql).
-- $1 concert_id, $2 lock class of the lines (src/db/locks.ts)
select concert_id, pg_advisory_xact_lock($2::int, hashtext($1::text)) as locked
from queue_lines where concert_id = $1::uuid for update
