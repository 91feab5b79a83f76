-- name: pg_settle_pre_queue :exec
-- The opening of line $1 was cleared before its draw: the pre-queue's places (never drawn, no position)
-- become ordinary places. They keep their ordinals, which are in join order and ahead of everyone who
-- joined after them, so each is told its position (they read WAITING with neither a position nor an
-- opening: helper-34). A drawn line is left as it is. Run once per instance when it learns that the
-- opening was cleared (src/waiting-room/settings.ts), so a place a lagging instance gave in the
-- pre-queue is settled too.
-- $1 concert_id
update queue_sessions s set pre_queue = false
where s.concert_id = $1::uuid and s.pre_queue
  and not coalesce((select l.drawn from queue_lines l where l.concert_id = $1::uuid), false)
