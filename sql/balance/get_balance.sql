-- name: get_balance :one
-- 0 for a user never seen. $1 user_id
select coalesce((select balance from balances where user_id = $1::text), 0) as balance
