-- finish: the admitted session `seq` ends as DONE (the user paid); its slot is free for the next
-- admission step. Only the admitted session with this seq is touched. A DONE seq keeps answering DONE.
-- ARGV: 1 concert id, 2 user, 3 seq
-- Returns 1 if it ended the session, else 0.
local concert, user, seq = ARGV[1], ARGV[2], ARGV[3]
if admitted(user) ~= tonumber(seq) then return 0 end
redis.call('ZREM', K_ACTIVE, user)
redis.call('HDEL', K_ACTIVE_SEQ, user)
redis.call('HSET', K_DONE, seq, user)
if redis.call('ZCARD', K_WAITING) == 0 and redis.call('ZCARD', K_ACTIVE) == 0 then
  redis.call('SREM', K_LINES, concert)
end
return 1
