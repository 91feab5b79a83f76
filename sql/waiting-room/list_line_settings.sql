-- name: list_line_settings :many
select concert_id, paused, max_active, admit_per_second, sales_open_at from queue_settings
