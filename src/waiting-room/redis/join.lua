-- join: the user's live place (a heartbeat if WAITING), or a fresh place at the back.
-- Before the opening (ARGV[4], epoch ms of the Redis clock; -1 = open) and until the line is drawn, a
-- new place goes to the pre-queue: in the line, without a position until the draw.
-- ARGV: 1 concert id, 2 user, 3 waiting idle ms, 4 opens at ms or -1
-- Returns { seq, created 0|1, status, position, activeUntil, pace } or { 'SOLD_OUT' }.
local concert, user, idle_ms, opens_at = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4] or '-1')
local now, now_sec = clock()
local cutoff = now - idle_ms
if sold_out() then return { 'SOLD_OUT' } end

local waiting_score = num(redis.call('ZSCORE', K_WAITING, user))
if waiting_score ~= nil then
  local waiting_seq = seq_of(waiting_score)
  local seen = num(redis.call('ZSCORE', K_SEEN, user))
  if seen ~= nil and seen > cutoff then
    redis.call('ZADD', K_SEEN, now, user)
    return { waiting_seq, 0, 'WAITING', position(user, cutoff), -1, pace(now_sec) }
  end
  -- The place lapsed: it ends here, and the user joins again at the back.
  redis.call('ZREM', K_WAITING, user)
  redis.call('ZREM', K_SEEN, user)
else
  local active_seq, own_until = admitted(user)
  if active_seq ~= nil then
    local active_until = num(redis.call('ZSCORE', K_ACTIVE, user))
    if active_until ~= nil and active_until > now then
      return { active_seq, 0, 'ACTIVE', -1, active_until, pace(now_sec), own_until or -1 }
    end
    redis.call('ZREM', K_ACTIVE, user)
    redis.call('HDEL', K_ACTIVE_SEQ, user)
  end
end

local seq = redis.call('INCR', K_SEQ)
if seq % JOIN_SAMPLE == 1 then redis.call('ZADD', K_JOINED, seq, now .. ':' .. seq) end
local score = seq
if opens_at > now and redis.call('EXISTS', K_DRAWN) == 0 then score = PRE + seq end
redis.call('ZADD', K_WAITING, int(score), user)
redis.call('ZADD', K_SEEN, now, user)
redis.call('SADD', K_LINES, concert)
return { seq, 1, 'WAITING', position(user, cutoff), -1, pace(now_sec) }
