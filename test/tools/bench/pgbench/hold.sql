\set n random(1, 100000)
update bench_ceiling_seats set status = 'HELD', hold_expires_at = now() + interval '5 minutes'
where seat_number = :n and (status = 'AVAILABLE' or (status = 'HELD' and hold_expires_at <= now()));
