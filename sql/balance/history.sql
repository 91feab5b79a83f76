-- name: history :many
-- The ledger, newest first, keyset-paged on entry_seq. $1 user_id, $2 before entry_seq (or null), $3 limit
select l.entry_seq, l.entry_id, l.kind, l.amount, l.balance_after, l.reservation_id, p.payment_id, l.created_at
from ledger l
left join payments p on p.ledger_entry = l.entry_id
where l.user_id = $1::text and ($2::bigint is null or l.entry_seq < $2::bigint)
order by l.entry_seq desc
limit $3::int
