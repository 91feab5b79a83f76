-- name: list_concerts :many
select c.concert_id, c.title, (select count(*) from schedules s where s.concert_id = c.concert_id) as schedules
from concerts c
order by c.created_at, c.concert_id
