-- name: record_function :exec
-- $1 function file name, $2 sha256 of its text
insert into schema_functions (name, sha256) values ($1::text, $2::text)
on conflict (name) do update set sha256 = excluded.sha256, applied_at = now()
