-- name: charge :one
-- A charge is one statement: the balance goes up unless it would pass the limit, and the ledger entry is
-- written with it. No row back = the limit would be passed; nothing changed.
-- $1 entry_id, $2 user_id, $3 amount, $4 max balance
with credited as (
  insert into balances as b (user_id, balance)
  select $2::text, $3::bigint where $3::bigint <= $4::bigint
  on conflict (user_id) do update
    set balance = b.balance + excluded.balance, updated_at = now()
    where b.balance + excluded.balance <= $4::bigint
  returning balance
), entry as (
  insert into ledger (entry_id, user_id, kind, amount, balance_after)
  select $1::uuid, $2::text, 'CHARGE', $3::bigint, balance from credited
  returning entry_id
)
select e.entry_id, c.balance from credited c cross join entry e
