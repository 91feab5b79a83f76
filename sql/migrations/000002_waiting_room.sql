-- The waiting room in Postgres: the embedded default, and the twin of the Redis store (same contract,
-- same tests). One row per join; a user has at most one live (WAITING or ACTIVE) session per concert.
-- A WAITING row whose last poll is older than the idle limit, and an ACTIVE row past active_until, are
-- EXPIRED for every statement that reads them, whether or not the admission step has marked them yet.

create table queue_lines (
  concert_id uuid primary key references concerts on delete cascade,
  sold_out   boolean not null default false,
  created_at timestamptz not null default now()
);

create table queue_sessions (
  seq          bigint generated always as identity primary key,
  concert_id   uuid not null references queue_lines on delete cascade,
  user_id      text not null,
  status       text not null check (status in ('WAITING', 'ACTIVE', 'EXPIRED', 'DONE')),
  joined_at    timestamptz not null default now(),
  last_seen_at timestamptz not null default now(),
  admitted_at  timestamptz,
  active_until timestamptz,
  ended_at     timestamptz,
  check ((status = 'ACTIVE') <= (active_until is not null))
);
create unique index queue_sessions_one_live on queue_sessions (concert_id, user_id) where status in ('WAITING', 'ACTIVE');
create index queue_sessions_line on queue_sessions (concert_id, seq) where status = 'WAITING';
create index queue_sessions_active on queue_sessions (concert_id, active_until) where status = 'ACTIVE';

-- Admissions per line per second of the database clock: the rate budget, and the measured pace.
create table queue_admissions (
  concert_id uuid not null references queue_lines on delete cascade,
  second     bigint not null,
  admitted   int not null check (admitted >= 0),
  primary key (concert_id, second)
);

-- What a session is, as of now(): the single definition every waiting-room statement uses.
create function queue_effective_status(
  status text, last_seen_at timestamptz, active_until timestamptz, sold_out boolean, idle_seconds int
) returns text language sql stable as $$
  select case
    when status in ('WAITING', 'ACTIVE') and sold_out then 'SOLD_OUT'
    when status = 'WAITING' and last_seen_at <= now() - make_interval(secs => idle_seconds) then 'EXPIRED'
    when status = 'ACTIVE' and active_until <= now() then 'EXPIRED'
    else status
  end
$$;

-- 1 = next in line. Waiters who stopped polling are not counted: they will never be admitted.
create function queue_position(line uuid, my_seq bigint, idle_seconds int) returns bigint
language sql stable as $$
  select 1 + count(*)
  from queue_sessions
  where concert_id = line and status = 'WAITING' and seq < my_seq
    and last_seen_at > now() - make_interval(secs => idle_seconds)
$$;

-- Admissions per second over the last minute, measured from the first admission inside that minute;
-- null when nobody was admitted in it.
create function queue_admitted_per_second(line uuid) returns double precision
language sql stable as $$
  select sum(admitted)::double precision / (floor(extract(epoch from now()))::bigint - min(second) + 1)
  from queue_admissions
  where concert_id = line and second > floor(extract(epoch from now()))::bigint - 60
$$;
