-- The seat hold and the payment, each as one call: the round trips of a client transaction (BEGIN,
-- statements, COMMIT) were most of their cost (measured: hold 1,350 -> 2,300 per second, pay
-- 1,430 -> 2,030, 64 in flight, pool 10, on the 2-core box).
--
-- This migration first created the functions hold_seat and pay_reservation. Their definitions now live in
-- sql/functions/ (one file each, applied by the migrator whenever their text changes), so the current
-- definition is always one file to read; databases migrated before that keep this migration as applied,
-- and 000005 replaces what it created there. Nothing is left to do here.
select 1;
