-- name: charge_many :many
-- Several users' charges as one statement (one round trip, one commit), each decided exactly as
-- charge_once (sql/functions/charge_once.sql) decides a keyed one: the balance goes up unless it would
-- pass the limit, and its ledger entry is written with it. The users are distinct (a row may be changed
-- once per statement) and come in ascending order, and rows are inserted in that order, so every batch
-- locks balance rows in one order and two batches cannot deadlock; a payment locks one balance row,
-- last, so it cannot close a cycle. A user with no row back would pass the limit; nothing changed for them.
-- $1 entry_ids, $2 user_ids (distinct, ascending), $3 amounts, $4 max balance
with wanted as (
  select * from unnest($1::uuid[], $2::text[], $3::bigint[]) with ordinality as w(entry_id, user_id, amount, n)
), credited as (
  insert into balances as b (user_id, balance)
  select w.user_id, w.amount from wanted w where w.amount <= $4::bigint order by w.n
  on conflict (user_id) do update
    set balance = b.balance + excluded.balance, updated_at = now()
    where b.balance + excluded.balance <= $4::bigint
  returning b.user_id, b.balance
), entry as (
  insert into ledger (entry_id, user_id, kind, amount, balance_after)
  select w.entry_id, w.user_id, 'CHARGE', w.amount, c.balance from credited c join wanted w on w.user_id = c.user_id
  returning ledger.entry_id, ledger.user_id
)
select e.entry_id, e.user_id, c.balance from entry e join credited c on c.user_id = e.user_id
