-- name: pg_rank_line :exec
-- The end of an admission step: ranks the line for the positions until the next step, unless the last
-- ranking still serves: this step admitted and expired nobody ($3 false), and the ranking was made with
-- this idle limit less than half its window ago (sql/functions/queue_place.sql), so it stays fresh until
-- after the next step. Positions derived from it are then exact as they are between two steps: nobody
-- was admitted or expired since, the places that left carry left_line until the next ranking, the
-- lapse candidates cover the window, and a draw clears ranked_at (pg_draw.sql). A full line that admits
-- nobody (its active sessions at the limit) is then ranked every few seconds instead of every second.
-- $1 concert_id, $2 waiting idle seconds, $3 whether this step admitted or expired anyone
select queue_rank_line($1::uuid, $2::int)
where $3::boolean or not exists (
  select 1 from queue_lines
  where concert_id = $1::uuid and ranked_idle_seconds = $2::int and ranked_at > now() - queue_rank_window($2::int) / 2
)
