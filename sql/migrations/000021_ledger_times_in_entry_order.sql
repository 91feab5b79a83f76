-- A ledger entry's time is when it was written, not when its transaction began. A user's entries are
-- written one at a time under the user's balance lock, in entry order; now() is the transaction's start,
-- and a charge that had waited for that lock behind another one got the earlier time although its entry
-- came after (helper-59: 2 of 60 concurrent charges read 10-80 ms out of order in the history, newest
-- first). clock_timestamp() is read at the insert, after the lock, so a user's times follow the order of
-- the entries. Rows written before keep their times.
alter table ledger alter column created_at set default clock_timestamp();
