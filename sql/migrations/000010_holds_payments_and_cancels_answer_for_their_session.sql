-- The payment, the hold and the cancel now answer for the queue session the hold was made in: whether it
-- ends (the user has no live hold left in the concert, in a session that paid), and which session that
-- is; a hold is refused in a session that has ended so (sql/functions/hold_seat.sql). Their result
-- columns change, and a function's result type cannot be replaced in place: the migrator creates each
-- again from its file (sql/functions/) once the migrations have run.
drop function if exists pay_once(text, text, text, bigint, json, uuid, uuid, uuid, uuid);
drop function if exists pay_reservation(uuid, uuid, uuid, text, uuid);
drop function if exists hold_seat(uuid, text, uuid, int, int, int, bigint);
drop function if exists cancel_hold(uuid, text);
