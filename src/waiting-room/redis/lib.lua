-- Shared by every waiting-room script (prepended to each one when it is loaded; see README.md).
-- KEYS are always the same eleven, in this order; ARGV differs per script.
local K_WAITING = KEYS[1]    -- zset  user -> join seq          (waiting users, the line in order)
local K_SEEN = KEYS[2]       -- zset  user -> last heartbeat ms  (waiting users, for idle drop-out)
local K_ACTIVE = KEYS[3]     -- zset  user -> activeUntil ms     (admitted users)
local K_ACTIVE_SEQ = KEYS[4] -- hash  user -> 'seq:ownUntil ms'  (admitted users; see admitted())
local K_DONE = KEYS[5]       -- hash  seq -> user               (sessions that ended by payment)
local K_SEQ = KEYS[6]        -- string, INCR gives the next join seq
local K_SOLD_OUT = KEYS[7]   -- string, exists while the line is sold out
local K_ADMITS = KEYS[8]     -- hash  epoch second -> admissions in it (last minute only)
local K_LINES = KEYS[9]      -- set   concert ids that have anyone waiting or active (one per node, or per slot)
local K_JOINED = KEYS[10]    -- zset  seq -> 'ms:seq', one sample every JOIN_SAMPLE joins (oldest wait)
local K_DRAWN = KEYS[11]     -- string, exists once the pre-queue of the line was drawn

-- A waiting place's score is its order in the line and names its join seq. Later arrivals: score = seq.
-- The pre-queue (joined before the opening) lies below them: PRE + rank * BAND + seq, where rank is 0
-- until the draw at the opening and then 1..n in a random order (admit.lua). Every score is an integer
-- below 2^53, so doubles hold it exactly: up to 2^31 joins per line and 2^21 places in a pre-queue.
local PRE = -4503599627370496 -- -2^52
local BAND = 2147483648       -- 2^31

-- Whole numbers past 14 digits as Redis arguments: Lua's own number formatting would round them.
local function int(x)
  return string.format('%.0f', x)
end

local function seq_of(score)
  if score < 0 then return (score - PRE) % BAND end
  return score
end

-- In the pre-queue and not drawn yet: no position.
local function undrawn(score)
  return score < 0 and score - PRE < BAND
end

-- Join times are sampled, not kept per user: the oldest wait is then known to within JOIN_SAMPLE joins
-- for a few bytes per JOIN_SAMPLE waiting users.
local JOIN_SAMPLE = 16

-- Idle waiters removed per read (join, poll, check, extend) and per admission step. Every sweep is
-- bounded so that no single call does O(N) work however many users stopped polling at once.
local SWEEP_READ = 100
local SWEEP_ADMIT = 1000

-- The Redis server's clock, in epoch ms, and its epoch second.
local function clock()
  local t = redis.call('TIME')
  local sec = tonumber(t[1])
  return sec * 1000 + math.floor(tonumber(t[2]) / 1000), sec
end

local function num(reply)
  if reply then return tonumber(reply) end
  return nil
end

local function sold_out()
  return redis.call('EXISTS', K_SOLD_OUT) == 1
end

-- Drops up to `limit` waiters whose last heartbeat is at or before `cutoff`; returns how many.
local function sweep_idle(cutoff, limit)
  local idle = redis.call('ZRANGEBYSCORE', K_SEEN, '-inf', cutoff, 'LIMIT', 0, limit)
  if #idle > 0 then
    redis.call('ZREM', K_WAITING, unpack(idle))
    redis.call('ZREM', K_SEEN, unpack(idle))
  end
  return #idle
end

-- 1 = next in line. Idle waiters are swept first, so (unless more than SWEEP_READ went idle since the
-- last sweep) they are not counted, exactly as the Postgres store's queue_position does not count them.
-- -1 (no position) for a place in the pre-queue before the draw.
local function position(user, cutoff)
  sweep_idle(cutoff, SWEEP_READ)
  local score = num(redis.call('ZSCORE', K_WAITING, user))
  if score == nil or undrawn(score) then return -1 end
  return redis.call('ZRANK', K_WAITING, user) + 1
end

-- Admissions per second over the last minute, measured from the first admission inside that minute
-- (the Postgres store's queue_admitted_per_second); '' when nobody was admitted in it.
local function pace(now_sec)
  local flat = redis.call('HGETALL', K_ADMITS)
  local sum, first = 0, nil
  for i = 1, #flat, 2 do
    local second = tonumber(flat[i])
    if second > now_sec - 60 then
      sum = sum + tonumber(flat[i + 1])
      if first == nil or second < first then first = second end
    end
  end
  if first == nil then return '' end
  return string.format('%.17g', sum / math.max(1, now_sec - first + 1))
end

-- The admitted session of `user`: its seq, and the end of its own time (admission + the session TTL).
-- A hold may keep the session ACTIVE past its own time, only to pay what is held: no new hold then.
-- Sessions admitted before the own time was recorded carry the seq alone (own time unknown: nil).
local function admitted(user)
  local value = redis.call('HGET', K_ACTIVE_SEQ, user)
  if not value then return nil, nil end
  local sep = string.find(value, ':', 1, true)
  if not sep then return tonumber(value), nil end
  return tonumber(string.sub(value, 1, sep - 1)), tonumber(string.sub(value, sep + 1))
end

-- What the session `seq_text` (the seq in the queue token) of `user` is now. A lapsed place (idle waiter, active past activeUntil) is
-- EXPIRED whether or not a sweep removed it yet; a live place of a sold-out line is SOLD_OUT.
-- Returns status, activeUntil ms (ACTIVE only), and whether it is a live waiting place.
local function session(user, seq_text, now, idle_ms)
  local seq = tonumber(seq_text)
  local waiting_score = num(redis.call('ZSCORE', K_WAITING, user))
  if waiting_score ~= nil and seq_of(waiting_score) == seq then
    local seen = num(redis.call('ZSCORE', K_SEEN, user))
    local live = seen ~= nil and seen > now - idle_ms
    if sold_out() then return 'SOLD_OUT', nil, live end
    if not live then return 'EXPIRED', nil, false end
    return 'WAITING', nil, true
  end
  local active_seq, own_until = admitted(user)
  if active_seq == seq then
    local active_until = num(redis.call('ZSCORE', K_ACTIVE, user))
    if sold_out() then return 'SOLD_OUT', nil, false end
    if active_until == nil or active_until <= now then return 'EXPIRED', nil, false end
    return 'ACTIVE', active_until, false, own_until
  end
  if redis.call('HGET', K_DONE, seq_text) == user then return 'DONE', nil, false end
  return 'EXPIRED', nil, false
end

-- A view as the store returns it: { status, position or -1, activeUntil ms or -1, pace or '', own time's end or -1 }.
local function view(status, user, active_until, cutoff, rate, own_until)
  local pos = -1
  if status == 'WAITING' then pos = position(user, cutoff) end
  return { status, pos, active_until or -1, rate or '', own_until or -1 }
end

