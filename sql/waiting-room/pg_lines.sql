-- name: pg_lines :many
select l.concert_id
from queue_lines l
where exists (select 1 from queue_sessions s where s.concert_id = l.concert_id and s.status in ('WAITING', 'ACTIVE'))
