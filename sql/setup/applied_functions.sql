-- name: applied_functions :many
select name, sha256 from schema_functions
