-- A payment that finds nothing to pay answers 403 QUEUE_NOT_ACTIVE when its queue session is over
-- (sql/functions/pay_once.sql): pay_once and pay_many take the queue seq of the payment's session. A
-- function's arguments cannot be replaced in place: the old ones are dropped here and the migrator creates
-- the new ones from their files (sql/functions/) once the migrations have run.
drop function if exists pay_many(text[], text[], text[], uuid[], uuid[], uuid[], uuid[], bigint, json, boolean);
drop function if exists pay_once(text, text, text, bigint, json, uuid, uuid, uuid, uuid, boolean);
