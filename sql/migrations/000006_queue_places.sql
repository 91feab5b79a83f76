-- Places in a Postgres line without counting the line on every poll (sql/functions/queue_place.sql
-- explains the scheme). Each line draws its joins' places from a sequence of its own (ordinal: dense,
-- in join order, no shared row to lock); every admission step records how many waited before each
-- block of 128 places, and what can change until the next step is kept small enough to count.

alter table queue_sessions add column ordinal bigint;
-- Set when a place stops waiting outside an admission step (an operator ends it, a lapsed place is
-- closed by a new join); the next step counts it and clears the flag.
alter table queue_sessions add column left_line boolean not null default false;

alter table queue_lines
  add column ranked_at timestamptz,
  add column ranked_through bigint not null default 0,
  add column waiting_at_rank bigint not null default 0,
  add column ranked_idle_seconds int;

-- Waiting users before each block of 128 places (ordinal / 128), as of the last admission step.
create table queue_line_ranks (
  concert_id     uuid not null references queue_lines on delete cascade,
  block          bigint not null,
  waiting_before bigint not null,
  primary key (concert_id, block)
);

-- Waiting users who may go idle before the next admission step is due, as of the last step.
create table queue_lapse_candidates (
  concert_id uuid not null references queue_lines on delete cascade,
  ordinal    bigint not null,
  seq        bigint not null,
  primary key (concert_id, ordinal)
);

-- Places that already exist get ordinals in join order, and their lines a sequence that continues them.
do $$
declare
  line uuid;
begin
  update queue_sessions s set ordinal = o.n
  from (select seq, row_number() over (partition by concert_id order by seq) as n from queue_sessions) o
  where o.seq = s.seq;
  for line in select concert_id from queue_lines loop
    execute format('create sequence %I', 'queue_line_' || replace(line::text, '-', ''));
    perform setval(('queue_line_' || replace(line::text, '-', ''))::regclass,
                   greatest(1, coalesce((select max(ordinal) from queue_sessions where concert_id = line), 0)),
                   exists (select 1 from queue_sessions where concert_id = line));
  end loop;
end $$;

alter table queue_sessions alter column ordinal set not null;
create unique index queue_sessions_place on queue_sessions (concert_id, ordinal);
create index queue_sessions_waiting_places on queue_sessions (concert_id, ordinal) where status = 'WAITING';
create index queue_sessions_left on queue_sessions (concert_id, ordinal) where left_line;
-- Admission now goes by ordinal.
drop index queue_sessions_line;
-- Replaced by queue_place (sql/functions/queue_place.sql).
drop function queue_position(uuid, bigint, int);
