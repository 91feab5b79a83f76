\set id random(1, 100000)
select status, last_seen_at from bench_ceiling_sessions where seq = :id;
