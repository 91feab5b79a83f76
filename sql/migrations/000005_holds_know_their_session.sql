-- A hold remembers the queue session it was made in (the seq of the queue token), so that cancelling
-- the last live hold of a session in which the user already paid can end that session.
alter table reservations add column queue_seq bigint;

-- The seat hold, the payment and the cancel are plpgsql functions that now live in sql/functions/, one
-- file each, applied by the migrator whenever their text changes. Their signatures change here, so the
-- definitions migration 000004 made on databases migrated before that go.
drop function if exists hold_seat(uuid, text, uuid, int, int, int);
drop function if exists pay_reservation(uuid, uuid, uuid, text, uuid);

-- Applied function files, by the hash of their text.
create table schema_functions (
  name       text primary key,
  sha256     text not null,
  applied_at timestamptz not null default now()
);
