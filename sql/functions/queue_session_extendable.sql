-- The extension rule of a queue session, in one place: an ACTIVE session that has not run out and is
-- within its own time (admission + the line's session TTL; sessions admitted before the own time was
-- recorded have none) may be extended to cover a hold. Past its own time a session lives on only to pay
-- what it holds (a new hold would keep it alive without end; helper-34). Asked by the Postgres store's
-- extensions (sql/waiting-room/pg_extend_many.sql) and by holds that extend their sessions themselves
-- (sql/functions/hold_seats.sql). A plain SQL function: the planner inlines it, so callers keep their
-- plans (each reads the session by its key and tests the rest in one IS TRUE test).
create or replace function queue_session_extendable(status text, active_until timestamptz, admitted_at timestamptz, ttl_seconds int)
returns boolean language sql stable as $$
  select status = 'ACTIVE' and active_until > now() and coalesce(admitted_at + make_interval(secs => ttl_seconds) > now(), true)
$$;
