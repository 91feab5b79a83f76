-- name: list_line_settings :many
select concert_id, paused, max_active, admit_per_second from queue_settings
