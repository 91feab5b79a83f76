-- name: pg_admit :one
-- One admission step for line $1, run under pg_lock_line in the same transaction: drops waiters who
-- stopped polling and sessions that ran out, then admits from the front in join order, as many as both
-- the capacity ($2 active at most) and this second's budget ($3 per second) allow; none while sold out.
-- Nobody is admitted before the opening ($6); pg_draw has dealt the pre-queue its order by then.
-- $1 concert_id, $2 max active, $3 admit per second, $4 active ttl seconds, $5 waiting idle seconds,
-- $6 opens at (epoch ms) or null
--
-- What it reads is what changed (sql/functions/queue_place.sql explains the ranking):
-- * ranking_due: the line's ranking must be made again at the end of this step (pg_rank_line): it is half
--   its freshness window old (or was never made, or made with another idle limit, or a draw cleared it),
--   or more than 512 places left since it was made (every poll reads the list of those).
-- * Expiry: a waiting place can go idle within a ranking's window only if the ranking named it a lapse
--   candidate, so while the ranking is fresh (also when it is due: within its window, half of it gone),
--   the sweep reads the candidates and the ACTIVE sessions that ran out (by their index), not the line.
--   Either way the sweep leaves no lapsed WAITING row, as a ranking that follows counts every one as live.
-- * Every waiting place that leaves here (admitted or expired) is flagged left_line, so that positions
--   derived from the ranking stop counting it until the next ranking clears the flags. A session that
--   ends keeps the flag its admission set: clearing it (left_line = status = 'WAITING' once said so) had
--   the positions behind count an admitted place again until the next ranking (a model-based run on the
--   Postgres store: a fresh place told 2 with nobody ahead). Only a place never admitted (admitted_at is
--   null) was waiting.
-- * The number waiting: derived from the fresh ranking as a place at the back is; counted when the line
--   is swept whole. Reported only; nothing decides on it.
with now_second as (
  select floor(extract(epoch from now()))::bigint as second
), line as (
  select l.sold_out, f.fresh,
         not (f.fresh and l.ranked_at > now() - queue_rank_window($5::int) / 2 and l.left_since_rank <= 512) as ranking_due
  from queue_lines l
  cross join lateral (select queue_rank_fresh(l.ranked_at, l.ranked_idle_seconds, $5::int) as fresh) f
  where l.concert_id = $1::uuid
), swept as (
  -- The whole line, when there is no ranking to go by (never made, made with another idle limit, older
  -- than its window: no step ran for seconds, or a draw cleared it).
  update queue_sessions s set status = 'EXPIRED', ended_at = now(), left_line = s.left_line or s.status = 'WAITING'
  where not (select fresh from line) and s.concert_id = $1::uuid and s.status in ('WAITING', 'ACTIVE')
    and queue_effective_status(s.status, s.last_seen_at, s.active_until, false, $5::int) = 'EXPIRED'
  returning s.admitted_at is null as was_waiting
), stale as (
  -- Otherwise the lapse candidates, and the ACTIVE sessions past their end.
  select c.seq from queue_lapse_candidates c
  where (select fresh from line) and c.concert_id = $1::uuid
  union all
  select s.seq from queue_sessions s
  where (select fresh from line) and s.concert_id = $1::uuid and s.status = 'ACTIVE' and s.active_until <= now()
), lapsed as (
  update queue_sessions s set status = 'EXPIRED', ended_at = now(), left_line = s.left_line or s.status = 'WAITING'
  -- By key, row by row (= any of an array): joined to the list, the plan read the whole line once.
  -- The rest is one IS TRUE test no index serves: as plain conditions, a plan made while queue_sessions
  -- had no statistics ANDed the keys with the whole index of live places (every line's, 16,700 entries
  -- each tick at 16,000 live; test/waiting-room/postgres-plans.test.ts).
  where s.seq = any(array(select seq from stale))
    and (s.status in ('WAITING', 'ACTIVE')
      and queue_effective_status(s.status, s.last_seen_at, s.active_until, false, $5::int) = 'EXPIRED') is true
  returning s.admitted_at is null as was_waiting
), expired as (
  select was_waiting from swept union all select was_waiting from lapsed
), active as (
  select count(*) as n from queue_sessions
  where concert_id = $1::uuid and status = 'ACTIVE' and active_until > now()
), budget as (
  -- A sold-out line admits nobody: its users read SOLD_OUT, and a slot would help no one.
  select case when (select sold_out from line) then 0
    when to_timestamp($6::bigint / 1000.0) > now() then 0
    else greatest(0, least(
      $3::int - coalesce((select a.admitted from queue_admissions a, now_second n
                          where a.concert_id = $1::uuid and a.second = n.second), 0),
      $2::int - (select n from active)
    )) end as n
), admitted as (
  update queue_sessions s
  set status = 'ACTIVE', admitted_at = now(), active_until = now() + make_interval(secs => $4::int), left_line = true
  where s.status = 'WAITING' and s.seq in (
    select seq from queue_sessions
    where concert_id = $1::uuid and status = 'WAITING' and last_seen_at > now() - make_interval(secs => $5::int)
    order by ordinal
    limit (select n from budget)
  )
  returning 1
), counted as (
  -- Every step, one that admitted nobody too, with the sessions live before the second's first step and
  -- after its last: how fast places come free is measured from them (sql/functions/queue_pace.sql).
  insert into queue_admissions (concert_id, second, admitted, active_before, active_after)
  select $1::uuid, n.second, c.n, (select n from active), (select n from active) + c.n
  from now_second n cross join (select count(*)::int as n from admitted) c
  on conflict (concert_id, second) do update
  set admitted = queue_admissions.admitted + excluded.admitted, active_after = excluded.active_after
), pruned as (
  -- The budget and the pace look back one minute; older seconds are of no more use (a row per line and
  -- second of every step would otherwise pile up for good).
  delete from queue_admissions a using now_second n
  where a.concert_id = $1::uuid and a.second <= n.second - 60
), tally as (
  update queue_lines set left_since_rank = left_since_rank + (select count(*) from admitted) + (select count(*) from expired)
  where concert_id = $1::uuid and not (select ranking_due from line)
), waiting as (
  select case when not (select fresh from line) then (
      select count(*) from queue_sessions
      where concert_id = $1::uuid and status = 'WAITING' and last_seen_at > now() - make_interval(secs => $5::int))
    else (
      -- Those waiting at the ranking and every place drawn since (the sequence's last ordinal: no join
      -- is drawing one meanwhile, the step holds the line's lock), less the places that left since (by
      -- their index) and the lapsed candidates this step expires (every one lapsed by now: the sweep
      -- reads them all).
      select l.waiting_at_rank + greatest(0, coalesce(max(q.last_value), 0) - l.ranked_through)
             - (select count(*) from queue_sessions s where s.concert_id = $1::uuid and s.left_line)
             - (select count(*) from expired where was_waiting)
      from queue_lines l
      left join pg_sequences q on q.schemaname = current_schema() and q.sequencename = queue_line_sequence($1::uuid)
      where l.concert_id = $1::uuid
      group by l.waiting_at_rank, l.ranked_through)
    end as n
)
select
  (select count(*) from admitted) as admitted,
  (select count(*) from expired) as expired,
  (select n from waiting) - (select count(*) from admitted) as waiting,
  (select n from active) + (select count(*) from admitted) as active,
  (select ranking_due from line) as ranking_due
