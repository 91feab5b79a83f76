-- name: pg_set_sold_out :exec
-- $1 concert_id, $2 sold out
insert into queue_lines (concert_id, sold_out) values ($1::uuid, $2::boolean)
on conflict (concert_id) do update set sold_out = excluded.sold_out
where queue_lines.sold_out is distinct from excluded.sold_out
