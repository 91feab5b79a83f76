-- name: pg_lines :many
-- The lines with anybody in them (WAITING or ACTIVE). Each line asks for its first live session and stops
-- there (LIMIT 1 in a lateral subquery, which Postgres keeps as a probe per line): as a plain EXISTS it was
-- planned as a hash join over every live session of every line, each admission tick and metrics scrape
-- (7 ms at 6,000 live; test/waiting-room/postgres-plans.test.ts). ORDER BY user_id, which the index of
-- live places (line, user) answers with its first entry and any other path only by reading and sorting
-- the line: without it, a plan made while queue_sessions had been analyzed small (every session live)
-- scanned the whole table for each line with nobody live in it (56,000 rows a tick at 28,000 sessions;
-- test/waiting-room/postgres-plans-analyzed-small.test.ts).
select l.concert_id
from queue_lines l
cross join lateral (
  select 1 from queue_sessions s where s.concert_id = l.concert_id and s.status in ('WAITING', 'ACTIVE') order by s.user_id limit 1
) live
