-- name: pg_draw :exec
-- The draw at the opening of line $1, run in the admission step's transaction under pg_lock_line (the
-- line's exclusive lock: no join is drawing an ordinal meanwhile) and before the step ranks the line:
-- once the opening time $2 has passed, the pre-queue's places deal their ordinals out again in the order
-- of sha256 of a fresh 32-byte secret $3 (node:crypto, new for every step) with each place's seq: unknown
-- to anyone in advance and independent of the join order; waiting places given outside the pre-queue
-- before the draw take the ordinals after them. The set of ordinals does not change, so the places stay
-- ahead of every later arrival and the line's numbering stays dense. Each gets its new
-- ordinal negated first (the unique index on ordinals is checked row by row), then pg_draw_settle flips
-- them back. Runs once per line: a drawn line is skipped. The counts of the line's ranking stay right (the
-- same ordinals stay waiting), but its lapse candidates name the old ordinals: ranked_at is cleared, so
-- that the step ranks the line again even if it admits nobody (pg_rank_line.sql).
-- $1 concert_id, $2 opens_at (epoch ms), $3 secret (bytea)
with line as (
  update queue_lines set drawn = true, ranked_at = null
  where concert_id = $1::uuid and not drawn and to_timestamp($2::bigint / 1000.0) <= now()
  returning concert_id
), pre as (
  -- Read only when the line is drawn now (a one-time test of the row above, before any scan): every step
  -- of a line with an opening time runs this statement, and as a join to that row a plan made while
  -- queue_sessions had been analyzed small (no pre-queue) scanned the whole table for the pre-queue on
  -- each tick long after the draw (test/waiting-room/postgres-plans-analyzed-small.test.ts).
  select s.seq, s.ordinal, true as pre_queue
  from queue_sessions s
  where (select l.concert_id from line l) is not null and s.concert_id = $1::uuid and s.pre_queue
), ordinary as (
  -- Places given outside the pre-queue before the draw, among or before its places: joins before an
  -- opening was set on an open line, or answered by an instance a tick late to hear of it. Arriving early
  -- gives no edge over the pre-queue, so they queue behind it, in join order, as on Redis (the store
  -- contract's test). Read only at the draw, through the index of waiting places.
  select s.seq, s.ordinal, false as pre_queue
  from queue_sessions s
  where (select max(p.ordinal) from pre p) is not null and s.concert_id = $1::uuid and s.status = 'WAITING'
    and not s.pre_queue and s.ordinal < (select max(p.ordinal) from pre p)
), placed as (
  select * from pre union all select * from ordinary
), dealt as (
  -- The pre-queue first, in the order of the secret; then the others in join order.
  select d.seq, o.ordinal
  from (
    select seq, row_number() over (
      order by not pre_queue, case when pre_queue then sha256($3::bytea || int8send(seq)) end, ordinal, seq) as r
    from placed
  ) d
  join (select ordinal, row_number() over (order by ordinal) as r from placed) o using (r)
)
update queue_sessions s set ordinal = -dealt.ordinal, pre_queue = false
from dealt where s.seq = dealt.seq
