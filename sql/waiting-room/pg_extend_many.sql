-- name: pg_extend_many :many
-- Sessions of line $1 extended at once, in one statement and one commit (as the Redis store's
-- extend_many.lua; the app's holds on this store extend their sessions in hold_seats itself, by the same
-- rule, sql/functions/hold_seats.sql): an ACTIVE session within its own time (admission + $5) lasts at least
-- until its hold's time (epoch ms), so that a hold made now can be paid; never shortened. Past its own
-- time a session lives on only to pay what it holds, and is not extended (the hold is undone: holding,
-- cancelling and holding again would keep it alive without end; helper-34). A session named twice is
-- extended once, to the later time: as if its holds' extensions had come one after the other.
-- Returns a row per session extended (seq, user_id); none for a session not ACTIVE within its own time.
-- $1 concert_id, $2 seqs, $3 user_ids, $4 untils (epoch ms), $5 active session ttl seconds
-- Rows are locked in ascending seq (the LockRows above the sort), so two batches of one line, from any
-- instances, take them in one order and cannot deadlock; a single session's writers lock one row only.
-- Each row is found by its key alone: the other conditions are one IS TRUE test, which no index can
-- serve. Written as plain conditions, they let a plan made while the table had no statistics (a new
-- database, the first minute of a sale) read the session through queue_sessions_active, every ACTIVE
-- session of the concert for each call (6 ms at 6,000 ACTIVE; test/waiting-room/postgres-plans.test.ts),
-- for as long as the connection keeps the plan.
with wanted as (
  select w.seq, w.user_id, max(w.until) as until
  from unnest($2::bigint[], $3::text[], $4::bigint[]) as w(seq, user_id, until)
  group by w.seq, w.user_id
), locked as (
  select s.seq, w.until
  from wanted w
  join queue_sessions s on s.seq = w.seq
  join queue_lines l on l.concert_id = $1::uuid and not l.sold_out
  where (s.concert_id = $1::uuid and s.user_id = w.user_id
    and queue_session_extendable(s.status, s.active_until, s.admitted_at, $5::int)) is true
  order by s.seq
  for no key update of s
)
update queue_sessions s
set active_until = greatest(s.active_until, to_timestamp(k.until / 1000.0))
from locked k
where s.seq = k.seq
returning s.seq, s.user_id, 'ACTIVE' as status, null::bigint as position,
  (extract(epoch from s.active_until) * 1000)::bigint as active_until_ms,
  null::bigint as line_active,
  null::double precision as ended_per_second,
  null::double precision as live_average,
  (extract(epoch from s.admitted_at + make_interval(secs => $5::int)) * 1000)::bigint as own_until_ms
