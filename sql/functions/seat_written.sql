-- Every change of a seat row names the transaction that made it (seats.written_by; migration 000008), so
-- that a kept seat map can tell whether anything changed since its build. A trigger rather than a column
-- set by each statement: no writer (holds, cancels, payments, the lapse job, an operator's hand edit) can
-- forget it, and a map that missed a change would be stale for as long as nothing else changed.
create or replace function seat_written() returns trigger language plpgsql as $$
begin
  new.written_by := pg_current_xact_id();
  return new;
end
$$;

create or replace trigger seats_written before update on seats
for each row execute function seat_written();
