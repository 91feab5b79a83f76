-- Holds and payments are decided in batches that share one commit (sql/functions/hold_seats.sql,
-- sql/functions/pay_many.sql); a batch of one is the hold or payment alone. The function of one hold is
-- replaced by hold_seats; pay_once and pay_reservation take whether to wait for a locked reservation and
-- answer whether they met one, and a function's result type cannot be replaced in place: the migrator
-- creates each again from its file (sql/functions/) once the migrations have run.
drop function if exists hold_seat(uuid, text, uuid, int, int, int, bigint);
drop function if exists pay_once(text, text, text, bigint, json, uuid, uuid, uuid, uuid);
drop function if exists pay_reservation(uuid, uuid, uuid, text, uuid);
