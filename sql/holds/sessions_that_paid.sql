-- name: sessions_that_paid :many
-- Which of these queue sessions of a concert paid for a seat: the places the waiting-room store says are
-- over (EXPIRED), of which those that paid read DONE (PRODUCT.md: "DONE: the user paid"). By the index of
-- paid reservations by user (reservations_paid_by_user); one read for a whole push tick of a line.
-- $1 concert_id, $2 user_ids, $3 their queue seqs (pairwise)
select t.seq
from unnest($2::text[], $3::bigint[]) as t(user_id, seq)
where exists (
  select 1 from reservations r
  where r.user_id = t.user_id and r.concert_id = $1::uuid and r.queue_seq = t.seq and r.status = 'PAID')
