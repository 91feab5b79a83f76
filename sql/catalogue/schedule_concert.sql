-- name: schedule_concert :one
-- $1 schedule_id
select concert_id from schedules where schedule_id = $1::uuid
