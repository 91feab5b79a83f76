-- Per-concert waiting-room settings an operator changes at run time (admin API). A missing row or a null
-- column means the configured default (QUEUE_MAX_ACTIVE, QUEUE_ADMIT_PER_SECOND). Every instance reads
-- this table once per admission tick, so a change takes effect everywhere within one tick.
create table queue_settings (
  concert_id       uuid primary key references concerts on delete cascade,
  paused           boolean not null default false,
  max_active       int check (max_active between 1 and 1000000),
  admit_per_second int check (admit_per_second between 1 and 100000),
  updated_at       timestamptz not null default now()
);
