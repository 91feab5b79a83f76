-- name: pg_rank_line :exec
-- The end of an admission step whose pg_admit said ranking_due: ranks the line for the positions until
-- a later step ranks it again (sql/functions/queue_place.sql). Steps in between keep the ranking: they
-- flag the places they admit or expire (left_line), and positions derived from it stay exact as they are
-- right after a ranking. A full line that admits nobody, or one that admits a few a second, is ranked
-- every few seconds instead of every second; one that admits many, every 512 places that left.
-- $1 concert_id, $2 waiting idle seconds
select queue_rank_line($1::uuid, $2::int)
