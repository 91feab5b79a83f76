-- A hold remembers the queue session it was made in (the seq of the queue token), so that cancelling
-- the last live hold of a session in which the user already paid can end that session.
alter table reservations add column queue_seq bigint;

-- The seat hold, the payment and the cancel are plpgsql functions that now live in sql/functions/, one
-- file each, applied by the migrator whenever their text changes. Their signatures change here, so the
-- definitions of migration 000004 go.
drop function hold_seat(uuid, text, uuid, int, int, int);
drop function pay_reservation(uuid, uuid, uuid, text, uuid);

-- Applied function files, by the hash of their text.
create table schema_functions (
  name       text primary key,
  sha256     text not null,
  applied_at timestamptz not null default now()
);
