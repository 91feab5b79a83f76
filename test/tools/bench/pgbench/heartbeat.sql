\set id random(1, 100000)
update bench_ceiling_sessions set last_seen_at = now() where seq = :id and status = 'WAITING';
