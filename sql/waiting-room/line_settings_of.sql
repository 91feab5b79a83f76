-- name: line_settings_of :many
-- The settings of one line, if it has any (no row: the configured defaults, no opening).
-- $1 concert_id
select concert_id, paused, max_active, admit_per_second, sales_open_at from queue_settings where concert_id = $1::uuid
