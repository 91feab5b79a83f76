-- Admission steps that cost what changed, not the length of the line (sql/waiting-room/pg_admit.sql).
--
-- A step used to sweep the whole line for idle places and rank it again whenever it admitted or expired
-- anyone: four passes over every waiting place each second (38-48 ms at 20,000 waiting, under the
-- line's exclusive lock that every join waits for). Now a step ranks the line only when the ranking is
-- half its freshness window old, or when many places left since; between rankings, the places a step
-- admits or expires are flagged left_line (as the operator's ends are), and positions subtract them
-- (sql/functions/queue_place.sql). This counts them, so that the list every poll reads stays short.
alter table queue_lines add column left_since_rank int not null default 0;
