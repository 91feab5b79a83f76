-- Every amount of money is at most 2^53 - 1 won: the app counts money in JavaScript numbers, which are
-- exact integers only up to there. The API already keeps every amount far below (MAX_BALANCE, prices up to
-- it), but a price set by hand in SQL above it made a hold commit and then fail to answer (a 500), and the
-- user's reservations unreadable. Added NOT VALID and then validated: the check of existing rows takes no
-- lock that stops writes.
alter table seats add constraint seats_price_safe check (price <= 9007199254740991) not valid;
alter table reservations add constraint reservations_price_safe check (price <= 9007199254740991) not valid;
alter table balances add constraint balances_balance_safe check (balance <= 9007199254740991) not valid;
alter table ledger add constraint ledger_amount_safe
  check (amount between -9007199254740991 and 9007199254740991 and balance_after <= 9007199254740991) not valid;
alter table payments add constraint payments_amount_safe check (amount <= 9007199254740991) not valid;
alter table seats validate constraint seats_price_safe;
alter table reservations validate constraint reservations_price_safe;
alter table balances validate constraint balances_balance_safe;
alter table ledger validate constraint ledger_amount_safe;
alter table payments validate constraint payments_amount_safe;
