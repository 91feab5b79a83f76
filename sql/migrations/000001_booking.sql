-- The booking schema. The invariants the database can state, it states: a seat row has exactly one
-- current holder (reservation_id) and at most one PAID reservation, balances never go below zero,
-- every balance change is one ledger row.

create table concerts (
  concert_id uuid primary key,
  title      text not null check (char_length(title) between 1 and 200),
  created_at timestamptz not null default now()
);

create table schedules (
  schedule_id uuid primary key,
  concert_id  uuid not null references concerts on delete cascade,
  starts_at   timestamptz not null,
  total_seats int not null check (total_seats between 1 and 100000),
  created_at  timestamptz not null default now()
);
create index schedules_by_concert on schedules (concert_id, starts_at);

-- One row per seat. status HELD with hold_expires_at <= now() is a lapsed hold: every statement that reads
-- a hold treats it as AVAILABLE, so correctness never waits for the cleanup job.
create table seats (
  schedule_id     uuid not null references schedules on delete cascade,
  seat_number     int not null check (seat_number >= 1),
  price           bigint not null check (price >= 1),
  status          text not null default 'AVAILABLE' check (status in ('AVAILABLE', 'HELD', 'SOLD')),
  reservation_id  uuid,
  hold_expires_at timestamptz,
  primary key (schedule_id, seat_number),
  check ((status = 'AVAILABLE') = (reservation_id is null)),
  check ((status = 'HELD') = (hold_expires_at is not null))
);
-- Seats still for sale (AVAILABLE or HELD, lapsed or not): what availability counts and sold-out checks read.
create index seats_unsold on seats (schedule_id, seat_number) where status <> 'SOLD';

-- Holds take this row's lock first so that one user's concurrent holds are counted one at a time
-- (MAX_HOLDS_PER_USER). Nothing else locks it, so it cannot join a deadlock.
create table users (
  user_id    text primary key check (char_length(user_id) between 1 and 128),
  created_at timestamptz not null default now()
);

create table reservations (
  reservation_id uuid primary key,
  user_id        text not null references users,
  concert_id     uuid not null references concerts on delete cascade,
  schedule_id    uuid not null,
  seat_number    int not null,
  price          bigint not null check (price >= 1),
  status         text not null check (status in ('HELD', 'PAID', 'EXPIRED', 'CANCELLED')),
  expires_at     timestamptz not null,
  created_at     timestamptz not null default now(),
  ended_at       timestamptz,
  foreign key (schedule_id, seat_number) references seats on delete cascade,
  check ((status = 'HELD') = (ended_at is null))
);
-- A seat is sold at most once.
create unique index reservations_one_sale_per_seat on reservations (schedule_id, seat_number) where status = 'PAID';
create index reservations_by_user on reservations (user_id, created_at desc, reservation_id desc);
create index reservations_live_by_user on reservations (user_id, concert_id) where status = 'HELD';
create index reservations_held_by_expiry on reservations (expires_at) where status = 'HELD';

create table balances (
  user_id    text primary key,
  balance    bigint not null check (balance >= 0),
  updated_at timestamptz not null default now()
);

-- Every change of a balance, signed: charges positive, payments negative. balance = sum(amount), always.
create table ledger (
  entry_seq      bigint generated always as identity primary key,
  entry_id       uuid not null unique,
  user_id        text not null,
  kind           text not null check (kind in ('CHARGE', 'PAYMENT')),
  amount         bigint not null check (amount <> 0),
  balance_after  bigint not null check (balance_after >= 0),
  reservation_id uuid,
  created_at     timestamptz not null default now(),
  check ((kind = 'CHARGE') = (amount > 0)),
  check ((kind = 'PAYMENT') = (reservation_id is not null))
);
create index ledger_by_user on ledger (user_id, entry_seq desc);

create table payments (
  payment_id     uuid primary key,
  reservation_id uuid not null unique references reservations,
  user_id        text not null,
  amount         bigint not null check (amount >= 1),
  ledger_entry   uuid not null unique references ledger (entry_id),
  created_at     timestamptz not null default now()
);

-- Responses of requests sent with an Idempotency-Key, stored in the same transaction as their effect.
create table idempotency_keys (
  user_id         text not null,
  idempotency_key text not null check (char_length(idempotency_key) between 1 and 255),
  fingerprint     text not null,
  response_status int not null,
  response_body   json not null, -- json, not jsonb: a replay must repeat the body byte for byte
  created_at      timestamptz not null default now(),
  primary key (user_id, idempotency_key)
);
create index idempotency_keys_by_age on idempotency_keys (created_at);
