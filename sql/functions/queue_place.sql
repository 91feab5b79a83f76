-- Positions in a Postgres line, without counting the line on every poll.
--
-- A position is 1 + the live waiters ahead (WAITING, polled within the idle limit). Counting them per
-- poll costs O(position): at the back of a long line that is thousands of rows per poll. Instead:
--
-- * Each line draws its places from its own sequence (queue_line_<concert id>): a join's ordinal is dense
--   and in join order, with no shared row for joins to lock. Admission goes by ordinal.
-- * An admission step (one per line per tick, under pg_lock_line) ranks the line when the last ranking is
--   half its window old or many places left since (sql/waiting-room/pg_admit.sql): for each block of
--   16 ordinals (queue_rank_block), how many were WAITING before it (queue_line_ranks), how many waited
--   in all, and the last ordinal drawn (ranked_through). Right after its own expiry sweep, which leaves no
--   lapsed place WAITING, so all of them were live.
-- * Between two steps a waiter ahead can stop being live in three ways, each kept small to count:
--   - it went idle: only those whose last poll was already old at the step can (queue_lapse_candidates,
--     rows that could lapse within `queue_rank_window`); their current last poll is checked;
--   - it stopped waiting: admitted or expired by a step, ended by an operator, closed by a new join once
--     lapsed: those rows carry left_line until the next ranking (each counted once: a lapsed candidate
--     is counted as lapsed while it is still WAITING, and as left once it is not).
-- * And someone can join: always behind everyone already there, with the next ordinal.
--
-- So for a waiter with ordinal o: ranked (o <= ranked_through): the count before o's block, plus a direct
-- count of the live waiters in o's block ahead of o (at most 15 rows); at the back (o > ranked_through):
-- everyone who waited at the step, plus one per ordinal drawn since, ahead of o. From either, subtract the
-- candidates ahead who have lapsed by now and the places ahead that have left. Exact as long as the step
-- is recent (within the window, so that the candidate list is complete); otherwise, and for lines never
-- ranked, the live waiters ahead are counted directly.
--
-- What keeps it exact under concurrency: joins (which draw ordinals) and the statements that set
-- left_line take a shared transaction lock on the line; the admission step takes it exclusively before
-- its statements, so its ranking sees every ordinal drawn so far committed, and no left_line flag it
-- clears can belong to a change it did not see. A drawn ordinal with no row (a rare race of two joins of
-- one user) would count as one waiter too many for those behind it until the next step.

-- The name of the sequence that numbers the places of one line.
create or replace function queue_line_sequence(line uuid) returns text
language sql immutable as $$
  select 'queue_line_' || replace(line::text, '-', '')
$$;

-- The block of ordinal `o` in a line's ranking. Small blocks keep the count a poll makes small (it visits
-- each place ahead of it in its block: 128 per block cost 45 us of a poll's time, 16 cost 8); the step
-- writes one row per block, line / 16 rows a tick.
create or replace function queue_rank_block(o bigint) returns bigint
language sql immutable as $$
  select o / 16
$$;

-- How long after a ranking positions may still be derived from it: 10 s (ticks come every second), and at
-- most half the idle limit, so that a place joined just before the step cannot lapse inside the window.
create or replace function queue_rank_window(idle_seconds int) returns interval
language sql immutable as $$
  select least(interval '10 seconds', make_interval(secs => idle_seconds / 2.0))
$$;

-- Whether positions may be derived from a line's ranking (ranked_at, ranked with ranked_idle_seconds) now:
-- it is recent enough and was made with this idle limit. Otherwise the live waiters ahead are counted.
create or replace function queue_rank_fresh(ranked_at timestamptz, ranked_idle_seconds int, idle_seconds int) returns boolean
language sql stable as $$
  select ranked_at is not null and ranked_idle_seconds is not distinct from idle_seconds
         and now() < ranked_at + queue_rank_window(idle_seconds)
$$;

-- Opens a line: its row and its sequence. Safe when several instances open the same line at once.
create or replace function queue_open_line(line uuid, lock_class int) returns void
language plpgsql as $$
begin
  perform pg_advisory_xact_lock(lock_class, hashtext(line::text));
  execute format('create sequence if not exists %I', queue_line_sequence(line));
  insert into queue_lines (concert_id) values (line) on conflict (concert_id) do nothing;
end
$$;

-- Ranks line `line` (see above). Run by the admission step, after its expiry sweep and admissions, in the
-- same transaction and under the line's exclusive lock.
create or replace function queue_rank_line(line uuid, idle_seconds int) returns void
language plpgsql as $$
declare
  through bigint;
begin
  -- The last ordinal drawn (none, or no sequence yet: 0). No join is in flight: we hold the line's lock.
  select coalesce(max(last_value), 0) into through
  from pg_sequences where schemaname = current_schema() and sequencename = queue_line_sequence(line);

  delete from queue_line_ranks where concert_id = line;
  insert into queue_line_ranks (concert_id, block, waiting_before)
  select line, block, coalesce(sum(n) over (order by block rows between unbounded preceding and 1 preceding), 0)
  from (
    select queue_rank_block(ordinal) as block, count(*) as n
    from queue_sessions
    where concert_id = line and status = 'WAITING'
    group by 1
  ) blocks;

  delete from queue_lapse_candidates where concert_id = line;
  insert into queue_lapse_candidates (concert_id, ordinal, seq)
  select line, ordinal, seq
  from queue_sessions
  where concert_id = line and status = 'WAITING'
    and last_seen_at <= now() + queue_rank_window(idle_seconds) - make_interval(secs => idle_seconds);

  update queue_sessions set left_line = false where concert_id = line and left_line;

  update queue_lines set
    left_since_rank = 0,
    ranked_at = now(),
    ranked_through = coalesce(through, 0),
    waiting_at_rank = (select count(*) from queue_sessions where concert_id = line and status = 'WAITING'),
    ranked_idle_seconds = idle_seconds
  where concert_id = line;
end
$$;

-- 1 = next in line: the places of the live waiters with ordinals `mes` in line `line`, one row each
-- (ordinal, place; an ordinal asked twice is answered twice). A poll of many places is one call: the
-- statements' setup is paid once per call, not once per place (as one call per place, it was most of a
-- place's 130-140 us). Two statements on the derived path: the line's ranking, then every place.
-- Their plans are made once per connection (generic): left to choose, Postgres planned them again on
-- every call, which cost three to four times what running them did (140-210 us a call instead of 30-50).
-- A plan made once must not be made from the statistics of a young line: with seq scans allowed, the
-- plan made when the table was small scanned it whole on every call once it had grown; and every read
-- goes by a key that no other index shares (see the block count). Every statement here has an index
-- for what it reads.
create or replace function queue_places(line uuid, mes bigint[], idle_seconds int)
returns table (ordinal bigint, place bigint)
language plpgsql stable set plan_cache_mode = force_generic_plan set enable_seqscan = off as $$
#variable_conflict use_column
declare
  l record;
  -- The ordinals of the places that left since the ranking and of the candidates that have lapsed by
  -- now, in order, read once for all the places asked: each place then counts those ahead of it by a
  -- binary search (width_bucket). Read per place they were two index scans each, and a walk of every
  -- candidate ahead (thousands where many stopped polling at once).
  gone bigint[] := '{}';
begin
  select q.ranked_at, q.ranked_through, q.waiting_at_rank, q.ranked_idle_seconds
  into l
  from queue_lines q
  where q.concert_id = line;

  if queue_rank_fresh(l.ranked_at, l.ranked_idle_seconds, idle_seconds) then
    gone := array(select g.ordinal from (
      -- ordinal + 0: only the index of places that left can answer this (not the line's index of places).
      select s.ordinal from queue_sessions s where s.concert_id = line and s.left_line and s.ordinal + 0 < (select max(m) from unnest(mes) m)
      union all
      select c.ordinal from queue_lapse_candidates c
      cross join lateral (
        -- Each candidate's own row by key (the limit keeps the planner from turning this into a join,
        -- which on a line grown past its statistics walked every waiting place instead).
        select 1 from queue_sessions s
        where s.seq = c.seq and s.status = 'WAITING' and s.last_seen_at <= now() - make_interval(secs => idle_seconds)
        limit 1
      ) lapsed
      where c.concert_id = line and c.ordinal < (select max(m) from unnest(mes) m)
    ) g order by g.ordinal);
  end if;

  return query
  select m.me,
    case
      when not queue_rank_fresh(l.ranked_at, l.ranked_idle_seconds, idle_seconds)
           or (m.me <= l.ranked_through and b.waiting_before is null) then
        1 + (select count(*) from queue_sessions s
             where s.concert_id = line and s.status = 'WAITING' and s.ordinal < m.me
               and s.last_seen_at > now() - make_interval(secs => idle_seconds))
      -- Ranked: the count before my block, and my block counted directly (at most 15 places). At the
      -- back: everyone who waited at the step, and one per place drawn since, ahead of me.
      else 1
        + case when m.me > l.ranked_through then l.waiting_at_rank + (m.me - l.ranked_through - 1)
          else b.waiting_before + (
            -- The places ahead in my block, in one range of the line's index of places (line, ordinal):
            -- no condition on the status here, so no other index can answer it (one on live places by
            -- line, chosen by a plan made once on a young line, walked the whole line for each poll).
            select count(*) filter (where s.status = 'WAITING' and s.last_seen_at > now() - make_interval(secs => idle_seconds))
            from queue_sessions s
            where s.concert_id = line and s.ordinal >= b.boundary and s.ordinal < m.me)
          end
        - width_bucket(b.boundary - 1, gone)
    end
  from unnest(mes) as m(me)
  cross join lateral (
    select case when m.me > l.ranked_through then m.me else queue_rank_block(m.me) * 16 end as boundary,
      -- A subquery per place, by key: as a join, the plan read every block of the line for each call
      -- (5,000 rows a poll at 80,000 waiting). Offset 0 keeps it one read per place (pulled up into the
      -- select above, it was read once for each use).
      (select k.waiting_before from queue_line_ranks k where k.concert_id = line and k.block = queue_rank_block(m.me)) as waiting_before
    offset 0
  ) b;
end
$$;

-- The place of one live waiter (ordinal `me`): queue_places with one.
create or replace function queue_place(line uuid, me bigint, idle_seconds int) returns bigint
language plpgsql stable set plan_cache_mode = force_generic_plan as $$
begin
  return (select p.place from queue_places(line, array[me], idle_seconds) p);
end
$$;
