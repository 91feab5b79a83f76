-- join_many: for each user, their live place (a heartbeat if WAITING), or a fresh place at the back, in
-- the order given (the joins of one line that reached an instance at once; a user named twice gets one
-- place). Before the opening (ARGV[3], epoch ms of the Redis clock; -1 = open) and until the line is
-- drawn, a new place goes to the pre-queue: in the line, without a position until the draw.
-- ARGV: 1 concert id, 2 waiting idle ms, 3 opens at ms or -1, then the users
-- Returns { seq, created 0|1, status, position, activeUntil, pace, ownUntil } for each user, flattened,
-- or { 'SOLD_OUT', 0, '', -1, -1, '', -1 } for each when the line is sold out.
local concert, idle_ms, opens_at = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local now, now_sec = clock()
local cutoff = now - idle_ms
local out = {}
local function answer(...)
  for _, v in ipairs({ ... }) do out[#out + 1] = v end
end

if sold_out() then
  for _ = 4, #ARGV do answer('SOLD_OUT', 0, '', -1, -1, '', -1) end
  return out
end

local rate = pace(now_sec)
local function join(user)
  local waiting_score = num(redis.call('ZSCORE', K_WAITING, user))
  if waiting_score ~= nil then
    local waiting_seq = seq_of(waiting_score)
    local seen = num(redis.call('ZSCORE', K_SEEN, user))
    if seen ~= nil and seen > cutoff then
      redis.call('ZADD', K_SEEN, now, user)
      return answer(waiting_seq, 0, 'WAITING', position(user, cutoff), -1, rate, -1)
    end
    -- The place lapsed: it ends here, and the user joins again at the back.
    redis.call('ZREM', K_WAITING, user)
    redis.call('ZREM', K_SEEN, user)
  else
    local active_seq, own_until = admitted(user)
    if active_seq ~= nil then
      local active_until = num(redis.call('ZSCORE', K_ACTIVE, user))
      if active_until ~= nil and active_until > now then
        return answer(active_seq, 0, 'ACTIVE', -1, active_until, rate, own_until or -1)
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
  return answer(seq, 1, 'WAITING', position(user, cutoff), -1, rate, -1)
end

for i = 4, #ARGV do join(ARGV[i]) end
redis.call('SADD', K_LINES, concert)
return out
