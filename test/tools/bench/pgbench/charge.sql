\set u random(1, 2048)
update bench_ceiling_balances set balance = balance + 1 where user_id = 'user-' || :u;
