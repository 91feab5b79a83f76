-- Queue sessions an operator ended (DELETE /v1/admin/concerts/{id}/queue/sessions/{userId}), kept where
-- holds are decided. The queue store hears of the end at once, but an instance that saw the session
-- ACTIVE moments ago skips asking the store before a hold (src/waiting-room/waiting-room.ts, guardHold):
-- such a hold wrote the seat, took it from another user meanwhile (409), and was undone only after the
-- store refused to extend the session (hostile probe, stop 19: 37 of 40 holds right after an end). Holds
-- now refuse a session named here, under the user's lock, before any write (sql/functions/hold_seat.sql).
-- One row per operator end; a session's seq is never given again, so rows need no expiry.
create table queue_sessions_ended (
  user_id    text not null,
  concert_id uuid not null references concerts on delete cascade,
  queue_seq  bigint not null,
  ended_at   timestamptz not null default now(),
  primary key (user_id, concert_id, queue_seq)
);
