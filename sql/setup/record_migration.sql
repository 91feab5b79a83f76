-- name: record_migration :exec
-- $1 migration file name
insert into schema_migrations (name) values ($1::text)
