insert into bench_ceiling_sessions (concert_id, user_id)
values ('00000000-0000-0000-0000-000000000002', 'joiner-' || :client_id || '-' || random()) returning seq;
