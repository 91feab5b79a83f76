-- A payment or a cancel that leaves a queue session nothing to pay ends that session (PRODUCT.md: DONE
-- once the user has no live hold left in that concert). The decision is taken under the user's row lock
-- and is now recorded on the reservation it was taken with, in the same transaction. A hold of that
-- session decided after it (under the same lock) reads it and is refused: before, such a hold could land
-- between the payment's commit and the queue store's end of the session, leaving a DONE session with a
-- live hold (two instances, a payment beside a hold: 5 runs of 12).
alter table reservations add column ends_session boolean not null default false;

-- The payment, the hold and the cancel now answer whether the session ends (or ended): their result
-- columns change, and a function's result type cannot be replaced in place. The migrator creates each
-- again from its file (sql/functions/) once the migrations have run.
drop function if exists pay_once(text, text, text, bigint, json, uuid, uuid, uuid, uuid);
drop function if exists pay_reservation(uuid, uuid, uuid, text, uuid);
drop function if exists hold_seat(uuid, text, uuid, int, int, int, bigint);
drop function if exists cancel_hold(uuid, text);
