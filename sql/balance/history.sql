-- name: history :many
-- The ledger, newest first, keyset-paged on entry_seq. $1 user_id, $2 the last entry_id of the previous
-- page (or null), $3 limit. The cursor names an entry, not its place in the ledger of everyone (a
-- cursor that carried entry_seq told a user how many entries all users had: helper-58); one that is not
-- one of this user's entries gives an empty page, as the reservations' cursor does.
select l.entry_id, l.kind, l.amount, l.balance_after, l.reservation_id, p.payment_id, l.created_at
from ledger l
left join payments p on p.ledger_entry = l.entry_id
where l.user_id = $1::text
  and ($2::uuid is null
    or l.entry_seq < (select c.entry_seq from ledger c where c.entry_id = $2::uuid and c.user_id = $1::text))
order by l.entry_seq desc
limit $3::int
