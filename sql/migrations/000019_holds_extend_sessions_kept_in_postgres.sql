-- hold_seats takes the sessions' TTLs when the queue sessions are kept in this database (the Postgres
-- store): the hold then checks and extends its session in its own statement (sql/functions/hold_seats.sql).
-- The function is re-created from its file after the migrations; the old signature goes here, or a call
-- with eight arguments would match both.
drop function if exists hold_seats(uuid[], text[], uuid[], int[], bigint[], int, int, boolean);
