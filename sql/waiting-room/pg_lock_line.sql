-- name: pg_lock_line :one
-- Admission steps of one line run one at a time: each takes this row lock first, in its own statement,
-- so that the step's counts are read after the previous step committed.
-- $1 concert_id
select concert_id from queue_lines where concert_id = $1::uuid for update
