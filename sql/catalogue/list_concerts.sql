-- name: list_concerts :many
-- The catalogue in creation order, keyset-paged: $1 the last concert_id of the previous page (or null),
-- $2 the page size. An unknown $1 gives an empty page, never another user's view of the list.
select c.concert_id, c.title, (select count(*) from schedules s where s.concert_id = c.concert_id) as schedules
from concerts c
where $1::uuid is null
   or (c.created_at, c.concert_id) > (select a.created_at, a.concert_id from concerts a where a.concert_id = $1::uuid)
order by c.created_at, c.concert_id
limit $2::int
