-- admit: one admission step for one line. Drops lapsed active sessions and idle waiters (bounded per
-- call), then admits from the front in join order, as many as both the capacity (live active sessions
-- at most ARGV[2]) and this second's budget (ARGV[3] admissions per epoch second of the Redis clock)
-- allow. The script is atomic, so any number of callers running it at once admit no more than one.
-- A sold-out line admits nobody: its waiting users read SOLD_OUT and a slot would help no one.
-- Nobody is admitted before the opening (ARGV[6]). The first step at or after it draws the pre-queue:
-- each place gets a rank in the order of SHA1(secret .. seq), where the secret (ARGV[7]) is 32 fresh
-- bytes from the caller's cryptographic generator, unknown beforehand to anyone, so the order is
-- uniformly random and unrelated to the join order. The line is marked drawn, once: later steps (from
-- any instance) and later joins leave the draw alone.
-- ARGV: 1 concert id, 2 max active, 3 admit per second, 4 active ttl ms, 5 waiting idle ms,
--       6 opens at ms or -1, 7 secret (hex)
-- Returns { admitted, expired, waiting, active }.
local concert = ARGV[1]
local max_active, per_second = tonumber(ARGV[2]), tonumber(ARGV[3])
local ttl_ms, idle_ms = tonumber(ARGV[4]), tonumber(ARGV[5])
local opens_at, secret = tonumber(ARGV[6] or '-1'), ARGV[7] or ''
local now, now_sec = clock()
local before_opening = opens_at > now

-- The draw: every place of the pre-queue band (rank 0), in one atomic step.
local function draw()
  local band = redis.call('ZRANGEBYSCORE', K_WAITING, int(PRE), '(' .. int(PRE + BAND))
  local places = {}
  for i = 1, #band do
    local seq = seq_of(tonumber(redis.call('ZSCORE', K_WAITING, band[i])))
    places[i] = { user = band[i], seq = seq, key = redis.sha1hex(secret .. ':' .. seq) }
  end
  table.sort(places, function(a, b) return a.key < b.key end)
  for rank = 1, #places do
    redis.call('ZADD', K_WAITING, int(PRE + rank * BAND + places[rank].seq), places[rank].user)
  end
  redis.call('SET', K_DRAWN, now)
end

-- A line with no opening time is never marked, so that an opening set later still gets its pre-queue.
-- (An opening cleared before it came: settle_pre_queue.lua makes its pre-queue ordinary places, in join order.)
if opens_at >= 0 and not before_opening and redis.call('EXISTS', K_DRAWN) == 0 then draw() end
local cutoff = now - idle_ms
local expired = 0

local lapsed = redis.call('ZRANGEBYSCORE', K_ACTIVE, '-inf', now, 'LIMIT', 0, SWEEP_ADMIT)
if #lapsed > 0 then
  redis.call('ZREM', K_ACTIVE, unpack(lapsed))
  redis.call('HDEL', K_ACTIVE_SEQ, unpack(lapsed))
  expired = expired + #lapsed
end
expired = expired + sweep_idle(cutoff, SWEEP_ADMIT)

-- Capacity counts live sessions only, so it is exact even if the sweep above left some lapsed ones.
local active = redis.call('ZCOUNT', K_ACTIVE, '(' .. now, '+inf')
local this_second = tostring(now_sec)
local budget = math.min(per_second - (num(redis.call('HGET', K_ADMITS, this_second)) or 0), max_active - active)
if sold_out() or before_opening then budget = 0 end

local admitted = 0
local examined = 0
while admitted < budget and examined < budget + SWEEP_ADMIT do
  local front = redis.call('ZRANGE', K_WAITING, 0, budget - admitted - 1, 'WITHSCORES')
  if #front == 0 then break end
  for i = 1, #front, 2 do
    local user, seq = front[i], int(seq_of(tonumber(front[i + 1])))
    local seen = num(redis.call('ZSCORE', K_SEEN, user))
    redis.call('ZREM', K_WAITING, user)
    redis.call('ZREM', K_SEEN, user)
    if seen ~= nil and seen > cutoff then
      redis.call('ZADD', K_ACTIVE, now + ttl_ms, user)
      redis.call('HSET', K_ACTIVE_SEQ, user, seq .. ':' .. int(now + ttl_ms))
      admitted = admitted + 1
    else
      expired = expired + 1
    end
    examined = examined + 1
  end
end

-- Every step is recorded, one that admitted nobody too: how many were admitted in this second, how many
-- were live before its first step and after its last (how fast places come free is measured from them:
-- pace() in lib.lua).
redis.call('HINCRBY', K_ADMITS, this_second, admitted)
redis.call('HSETNX', K_ADMITS, 'b' .. this_second, active)
redis.call('HSET', K_ADMITS, 'a' .. this_second, active + admitted)
-- The pace looks back one minute; older seconds are of no more use.
local fields = redis.call('HKEYS', K_ADMITS)
for i = 1, #fields do
  local at = tonumber((string.gsub(fields[i], '^[ab]', '')))
  if at <= now_sec - 60 then redis.call('HDEL', K_ADMITS, fields[i]) end
end
-- The pace kept for this second no longer holds.
redis.call('DEL', K_PACE)

-- Join-time samples older than the one that dates the front of the line are of no more use.
local front = redis.call('ZRANGE', K_WAITING, 0, 0, 'WITHSCORES')
if #front == 0 then
  redis.call('DEL', K_JOINED)
else
  local dating = redis.call('ZREVRANGEBYSCORE', K_JOINED, int(seq_of(tonumber(front[2]))), '-inf', 'WITHSCORES', 'LIMIT', 0, 1)
  if #dating > 0 then redis.call('ZREMRANGEBYSCORE', K_JOINED, '-inf', '(' .. dating[2]) end
end

local waiting = redis.call('ZCARD', K_WAITING)
if waiting == 0 and redis.call('ZCARD', K_ACTIVE) == 0 then
  redis.call('SREM', K_LINES, concert)
end
waiting = waiting - redis.call('ZCOUNT', K_SEEN, '-inf', cutoff)
return { admitted, expired, waiting, active + admitted }
