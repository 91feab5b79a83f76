drop table if exists bench_ceiling_sessions, bench_ceiling_seats, bench_ceiling_balances;
