-- name: applied_migrations :many
select name from schema_migrations
