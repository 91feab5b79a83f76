-- name: lock_user :exec
-- Takes the user's row lock (creating the row on first use) without writing it: ON CONFLICT DO UPDATE
-- locks the conflicting row even when its WHERE is false. Held until the hold's transaction ends, it
-- makes one user's concurrent holds count their live holds one after the other.
-- $1 user_id
insert into users (user_id) values ($1::text)
on conflict (user_id) do update set user_id = excluded.user_id where false
