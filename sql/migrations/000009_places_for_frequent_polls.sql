-- Places polled many thousand times a second.
--
-- Line rankings go by blocks of 16 places instead of 128 (queue_rank_block, sql/functions/queue_place.sql).
-- A ranking made with the old blocks must not be read with the new ones: every line is counted directly
-- until its next admission step ranks it again (within a tick).
delete from queue_line_ranks;
update queue_lines set ranked_at = null;

-- Every poll of a waiting place rewrites its last poll time. With full pages the new version went to
-- another page and every index of the table got a new entry (only about a third of heartbeats were
-- HOT updates on a 50,000-place line); with room left on each page, a heartbeat stays on its page and
-- touches no index. Applies to pages written from now on.
alter table queue_sessions set (fillfactor = 70);
