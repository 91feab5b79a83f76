-- name: create_migrations_table :exec
create table if not exists schema_migrations (
  name       text primary key,
  applied_at timestamptz not null default now()
)
