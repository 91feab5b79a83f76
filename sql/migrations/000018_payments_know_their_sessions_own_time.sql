-- A payment that finds its hold cancelled by a cancel that ended the queue session (the session was past
-- its own time and the cancel took its last live hold) answers 403 QUEUE_NOT_ACTIVE, as the guard would
-- after that cancel (sql/functions/pay_once.sql): pay_once and pay_many take the end of the session's own
-- time as the guard read it, and whether the store had said the session is over (then a payment that finds
-- nothing to pay answers 403 too). The old signatures are dropped here; the migrator creates the new ones from
-- their files (sql/functions/) once the migrations have run.
drop function if exists pay_many(text[], text[], text[], uuid[], uuid[], uuid[], uuid[], bigint[], bigint, json, boolean);
drop function if exists pay_once(text, text, text, bigint, json, uuid, uuid, uuid, uuid, bigint, boolean);
