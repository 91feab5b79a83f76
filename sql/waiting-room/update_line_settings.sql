-- name: update_line_settings :one
-- PATCH semantics: a null $2 keeps paused as it is; $3/$5 say whether max_active/admit_per_second were
-- given at all, and a given null ($4/$6) goes back to the configured default.
-- $1 concert_id, $2 paused, $3 max_active given, $4 max_active, $5 admit_per_second given, $6 admit_per_second,
-- $7 sales_open_at given, $8 sales_open_at
insert into queue_settings as s (concert_id, paused, max_active, admit_per_second, sales_open_at)
values ($1::uuid, coalesce($2::boolean, false),
        case when $3::boolean then $4::int end, case when $5::boolean then $6::int end,
        case when $7::boolean then $8::timestamptz end)
on conflict (concert_id) do update set
  paused = coalesce($2::boolean, s.paused),
  max_active = case when $3::boolean then $4::int else s.max_active end,
  admit_per_second = case when $5::boolean then $6::int else s.admit_per_second end,
  sales_open_at = case when $7::boolean then $8::timestamptz else s.sales_open_at end,
  updated_at = now()
returning concert_id, paused, max_active, admit_per_second, sales_open_at
