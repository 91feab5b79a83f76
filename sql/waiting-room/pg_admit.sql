-- name: pg_admit :one
-- One admission step for line $1, run under pg_lock_line in the same transaction: drops waiters who
-- stopped polling and sessions that ran out, then admits from the front in join order, as many as both
-- the capacity ($2 active at most) and this second's budget ($3 per second) allow; none while sold out.
-- Nobody is admitted before the opening ($6); pg_draw has dealt the pre-queue its order by then.
-- $1 concert_id, $2 max active, $3 admit per second, $4 active ttl seconds, $5 waiting idle seconds,
-- $6 opens at (epoch ms) or null
with now_second as (
  select floor(extract(epoch from now()))::bigint as second
), expired as (
  update queue_sessions set status = 'EXPIRED', ended_at = now()
  where concert_id = $1::uuid and status in ('WAITING', 'ACTIVE')
    and queue_effective_status(status, last_seen_at, active_until, false, $5::int) = 'EXPIRED'
  returning 1
), live as (
  select
    count(*) filter (where status = 'ACTIVE' and active_until > now()) as active,
    count(*) filter (where status = 'WAITING' and last_seen_at > now() - make_interval(secs => $5::int)) as waiting
  from queue_sessions
  where concert_id = $1::uuid and status in ('WAITING', 'ACTIVE')
), budget as (
  -- A sold-out line admits nobody: its users read SOLD_OUT, and a slot would help no one.
  select case when (select sold_out from queue_lines where concert_id = $1::uuid) then 0
    when to_timestamp($6::bigint / 1000.0) > now() then 0
    else greatest(0, least(
      $3::int - coalesce((select a.admitted from queue_admissions a, now_second n
                          where a.concert_id = $1::uuid and a.second = n.second), 0),
      $2::int - (select active from live)
    )) end as n
), admitted as (
  update queue_sessions s
  set status = 'ACTIVE', admitted_at = now(), active_until = now() + make_interval(secs => $4::int)
  where s.status = 'WAITING' and s.seq in (
    select seq from queue_sessions
    where concert_id = $1::uuid and status = 'WAITING' and last_seen_at > now() - make_interval(secs => $5::int)
    order by ordinal
    limit (select n from budget)
  )
  returning 1
), counted as (
  insert into queue_admissions (concert_id, second, admitted)
  select $1::uuid, n.second, count(*) from admitted, now_second n group by n.second
  on conflict (concert_id, second) do update set admitted = queue_admissions.admitted + excluded.admitted
)
select
  (select count(*) from admitted) as admitted,
  (select count(*) from expired) as expired,
  (select waiting from live) - (select count(*) from admitted) as waiting,
  (select active from live) + (select count(*) from admitted) as active
