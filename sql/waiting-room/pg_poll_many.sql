-- name: pg_poll_many :many
-- The statuses of several places of line $1 in one statement (the pushed-status fan-out asks once per
-- tick per line). Live WAITING places get their heartbeat, as a poll gives it (rewritten at most every
-- tenth of the idle limit). Positions come from one numbering of the line's live waiting places instead
-- of one count per place.
-- $1 concert_id, $2 seqs (bigint[]), $3 user_ids (text[], same order), $4 waiting idle seconds
with asked as (
  select a.seq, a.user_id, a.ord
  from unnest($2::bigint[], $3::text[]) with ordinality as a(seq, user_id, ord)
), heartbeat as (
  update queue_sessions s set last_seen_at = now()
  from asked a
  where s.seq = a.seq and s.concert_id = $1::uuid and s.user_id = a.user_id and s.status = 'WAITING'
    and s.last_seen_at > now() - make_interval(secs => $4::int)
    -- Watchers are asked every tick; a row is rewritten only once a tenth of the idle limit has passed,
    -- which keeps the place just as well for a fraction of the writes.
    and s.last_seen_at < now() - make_interval(secs => $4::int / 10.0)
), pace as (
  select queue_admitted_per_second($1::uuid) as admitted_per_second
), line as (
  select seq, row_number() over (order by ordinal) as position
  from queue_sessions
  where concert_id = $1::uuid and status = 'WAITING' and last_seen_at > now() - make_interval(secs => $4::int)
)
select
  a.ord,
  v.status,
  case when v.status = 'WAITING' and not s.pre_queue then l.position end as position,
  case when v.status = 'ACTIVE' then (extract(epoch from s.active_until) * 1000)::bigint end as active_until_ms,
  pace.admitted_per_second
from asked a
cross join pace
join queue_sessions s on s.seq = a.seq and s.concert_id = $1::uuid and s.user_id = a.user_id
join queue_lines q on q.concert_id = s.concert_id
left join line l on l.seq = s.seq
cross join lateral (select queue_effective_status(s.status, s.last_seen_at, s.active_until, q.sold_out, $4::int) as status) v
