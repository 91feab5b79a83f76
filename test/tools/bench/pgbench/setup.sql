-- Scratch tables of the Postgres ceilings (test/tools/bench/independent.ts), in the bench's own database: the
-- same shapes and indexes as the rows our statements touch, none of our SQL.
drop table if exists bench_ceiling_sessions, bench_ceiling_seats, bench_ceiling_balances;
create table bench_ceiling_sessions (
  seq bigint generated always as identity primary key,
  concert_id uuid not null,
  user_id text not null,
  status text not null default 'WAITING',
  last_seen_at timestamptz not null default now()
);
insert into bench_ceiling_sessions (concert_id, user_id)
select '00000000-0000-0000-0000-000000000001', 'user-' || g from generate_series(1, 100000) g;
create table bench_ceiling_seats (
  seat_number int primary key,
  status text not null default 'AVAILABLE',
  hold_expires_at timestamptz
);
insert into bench_ceiling_seats (seat_number) select g from generate_series(1, 100000) g;
create table bench_ceiling_balances (user_id text primary key, balance bigint not null default 0);
insert into bench_ceiling_balances (user_id) select 'user-' || g from generate_series(1, 2048) g;
vacuum analyze bench_ceiling_sessions, bench_ceiling_seats, bench_ceiling_balances;
