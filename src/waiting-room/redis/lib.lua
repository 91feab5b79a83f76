-- Shared by every waiting-room script (prepended to each one when it is loaded; see README.md).
-- KEYS are always the same twelve, in this order; ARGV differs per script.
local K_WAITING = KEYS[1]    -- zset  user -> join seq          (waiting users, the line in order)
local K_SEEN = KEYS[2]       -- zset  user -> last heartbeat ms  (waiting users, for idle drop-out)
local K_ACTIVE = KEYS[3]     -- zset  user -> activeUntil ms     (admitted users)
local K_ACTIVE_SEQ = KEYS[4] -- hash  user -> 'seq:ownUntil ms'  (admitted users; see admitted())
local K_DONE = KEYS[5]       -- hash  seq -> user               (sessions that ended by payment)
local K_SEQ = KEYS[6]        -- string, INCR gives the next join seq
local K_SOLD_OUT = KEYS[7]   -- string, exists while the line is sold out
local K_ADMITS = KEYS[8]     -- hash  epoch second -> admissions in it; 'b'/'a' .. second -> live before/after (last minute only)
local K_LINES = KEYS[9]      -- set   concert ids that have anyone waiting or active (one per node, or per slot)
local K_JOINED = KEYS[10]    -- zset  seq -> 'ms:seq', one sample every JOIN_SAMPLE joins (oldest wait)
local K_DRAWN = KEYS[11]     -- string, exists once the pre-queue of the line was drawn
local K_PACE = KEYS[12]      -- string 'epoch second:active:ended:live', the pace as of that second (see pace())

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

-- Idle waiters removed per place a read asks about (join, poll, check, extend: one sweep per call, see
-- sweep_for_positions) and per admission step. Every sweep is bounded so that no single call does O(N)
-- work however many users stopped polling at once.
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

-- Drops up to `limit` waiters whose last heartbeat is at or before `cutoff` (oldest heartbeat first, at
-- most SWEEP_ADMIT per call, so that unpack stays within Lua's stack); returns how many.
local function sweep_idle(cutoff, limit)
  local swept = 0
  while swept < limit do
    local chunk = math.min(limit - swept, SWEEP_ADMIT)
    local idle = redis.call('ZRANGEBYSCORE', K_SEEN, '-inf', cutoff, 'LIMIT', 0, chunk)
    if #idle > 0 then
      redis.call('ZREM', K_WAITING, unpack(idle))
      redis.call('ZREM', K_SEEN, unpack(idle))
    end
    swept = swept + #idle
    if #idle < chunk then break end
  end
  return swept
end

-- The scores of `members` in the zset `key`, in one call for all: member -> score, non-members absent.
local function scores(key, members)
  local found = {}
  if #members == 0 then return found end
  local reply = redis.call('ZMSCORE', key, unpack(members))
  for i = 1, #members do
    if reply[i] then found[members[i]] = tonumber(reply[i]) end
  end
  return found
end

-- users[i] for each i of `indexes`.
local function named(users, indexes)
  local out = {}
  for k, i in ipairs(indexes) do out[k] = users[i] end
  return out
end

-- What joins and polls need of the line itself, read in one call: whether it is sold out, the pace
-- kept for a second (see pace()), the last join seq given, whether its pre-queue was drawn.
local function line_facts()
  local found = redis.call('MGET', K_SOLD_OUT, K_PACE, K_SEQ, K_DRAWN)
  return { sold_out = found[1] ~= false, kept_pace = found[2], last_seq = tonumber(found[3] or '0'), drawn = found[4] ~= false }
end

-- How fast places come free: the line's live sessions after its latest admission step of the last minute,
-- the sessions that ended per second over that minute and how many were live on average after its steps
-- (the Postgres store's queue_line_pace), as 'active:ended:live' ('' when no step ran in the last
-- minute). Each step records, for its second, how many it admitted ('<second>'), how many were live
-- before the second's first step ('b<second>') and after its last ('a<second>'): every session admitted
-- over the kept seconds either is still live or has ended, so the ended ones are the admissions less the
-- growth of the live count, from before the first step to after the last.
-- It depends only on that hash and the second, so it is kept for the second it was worked out in: the
-- other joins and polls of that second read one short string, not the whole hash. Only admit.lua
-- changes the hash, and it drops the kept pace whenever it does. `kept` is as line_facts() read it.
local function pace(now_sec, kept)
  local second = int(now_sec) .. ':'
  if kept and string.sub(kept, 1, #second) == second then return string.sub(kept, #second + 1) end
  local flat = redis.call('HGETALL', K_ADMITS)
  local admitted, live_before, live_after = {}, {}, {}
  for i = 1, #flat, 2 do
    local field, value = flat[i], tonumber(flat[i + 1])
    local kind = string.sub(field, 1, 1)
    if kind == 'a' then
      live_after[tonumber(string.sub(field, 2))] = value
    elseif kind == 'b' then
      live_before[tonumber(string.sub(field, 2))] = value
    else
      admitted[tonumber(field)] = value
    end
  end
  local sum, first, last, live_sum, seconds = 0, nil, nil, 0, 0
  for at, n in pairs(admitted) do
    if at > now_sec - 60 then
      sum = sum + n
      if first == nil or at < first then first = at end
      if last == nil or at > last then last = at end
      if live_after[at] ~= nil then
        live_sum = live_sum + live_after[at]
        seconds = seconds + 1
      end
    end
  end
  local rate = ''
  if first ~= nil and live_before[first] ~= nil and live_after[last] ~= nil then
    local ended = sum - (live_after[last] - live_before[first])
    rate = int(live_after[last]) .. ':' .. string.format('%.17g', ended / math.max(1, now_sec - first + 1))
      .. ':' .. string.format('%.17g', live_sum / seconds)
  end
  -- Of no use after its second: it expires soon after, so an abandoned line leaves nothing behind.
  redis.call('SET', K_PACE, second .. rate, 'EX', 2)
  return rate
end

-- The admitted sessions of `users`, in one call: user -> seq, and user -> the end of its own time
-- (admission + the session TTL). A hold may keep the session ACTIVE past its own time, only to pay what
-- is held: no new hold then. Sessions admitted before the own time was recorded carry the seq alone
-- (own time unknown: absent).
local function admissions(users)
  local seqs, own_untils = {}, {}
  if #users == 0 then return seqs, own_untils end
  local reply = redis.call('HMGET', K_ACTIVE_SEQ, unpack(users))
  for i = 1, #users do
    local value = reply[i]
    if value then
      local sep = string.find(value, ':', 1, true)
      if sep then
        seqs[users[i]] = tonumber(string.sub(value, 1, sep - 1))
        own_untils[users[i]] = tonumber(string.sub(value, sep + 1))
      else
        seqs[users[i]] = tonumber(value)
      end
    end
  end
  return seqs, own_untils
end

-- The admitted session of one user (finish, shrink): its seq and its own time's end.
local function admitted(user)
  local seqs, own_untils = admissions({ user })
  return seqs[user], own_untils[user]
end

-- Idle waiters are swept before positions are read, so that (unless more than SWEEP_READ per place
-- asked about went idle since the line's last sweep) they are not counted, exactly as the Postgres
-- store's queue_position does not count them. One sweep serves a whole call, before it reads any place:
-- up to SWEEP_READ idle waiters for each place the call asks about, as many as a sweep before each
-- position would remove. Nothing later in the call makes anyone idle (heartbeats and new places only;
-- the clock of a call stands still), so a position read after it is as exact as if the sweep had run
-- just before that read. Returns whether no idle waiter is left: then every place in the line is live.
local function sweep_for_positions(count, cutoff)
  local limit = SWEEP_READ * count
  return sweep_idle(cutoff, limit) < limit
end

-- Where the views of a call go: four values per place, { status, position or -1, activeUntil ms or -1,
-- own time's end or -1 }, flattened; the call's pace follows the last place (the same for all of them).
local function put_view(out, i, status, position, active_until, own_until)
  local at = (i - 1) * 4
  out[at + 1], out[at + 2], out[at + 3], out[at + 4] = status, position, active_until, own_until
end

-- 1 = next in line; -1 (no position) for a place in the pre-queue before the draw. Read after the
-- sweep (sweep_for_positions).
local function rank(user, score)
  if undrawn(score) then return -1 end
  return redis.call('ZRANK', K_WAITING, user) + 1
end

-- The views of the sessions users[i], seq_texts[i] (the seq in the queue token) now, into `out`
-- (put_view), read for all of them in a few calls (each key once) and then one ZRANK per WAITING place;
-- on an open line idle waiters are swept first (sweep_for_positions). A lapsed place (idle waiter,
-- active past activeUntil) is EXPIRED whether or not a sweep removed it yet; a live place of a sold-out
-- line (`closed`) is SOLD_OUT. Returns the users whose place is a live waiting place (a poll gives them
-- their heartbeat, a check does not).
local function sessions(users, seq_texts, now, cutoff, closed, out)
  -- A sold-out line answers no position, so it is not swept (its idle waiters read SOLD_OUT, as before).
  local all_live = not closed and sweep_for_positions(#users, cutoff)
  local waiting = scores(K_WAITING, users)
  local in_line, elsewhere = {}, {}
  for i = 1, #users do
    local score = waiting[users[i]]
    if score ~= nil and seq_of(score) == tonumber(seq_texts[i]) then
      in_line[#in_line + 1] = i
    else
      elsewhere[#elsewhere + 1] = i
    end
  end

  local live_users = {}
  local seen = {}
  if not all_live then seen = scores(K_SEEN, named(users, in_line)) end
  for _, i in ipairs(in_line) do
    local user = users[i]
    local heartbeat = seen[user]
    local live = all_live or (heartbeat ~= nil and heartbeat > cutoff)
    if live then live_users[#live_users + 1] = user end
    if closed then
      put_view(out, i, 'SOLD_OUT', -1, -1, -1)
    elseif not live then
      put_view(out, i, 'EXPIRED', -1, -1, -1)
    else
      put_view(out, i, 'WAITING', rank(user, waiting[user]), -1, -1)
    end
  end

  local active_seqs, own_untils = admissions(named(users, elsewhere))
  local admitted_here, others = {}, {}
  for _, i in ipairs(elsewhere) do
    if active_seqs[users[i]] == tonumber(seq_texts[i]) then
      admitted_here[#admitted_here + 1] = i
    else
      others[#others + 1] = i
    end
  end

  local active_untils = scores(K_ACTIVE, named(users, admitted_here))
  for _, i in ipairs(admitted_here) do
    local active_until = active_untils[users[i]]
    if closed then
      put_view(out, i, 'SOLD_OUT', -1, -1, -1)
    elseif active_until == nil or active_until <= now then
      put_view(out, i, 'EXPIRED', -1, -1, -1)
    else
      put_view(out, i, 'ACTIVE', -1, active_until, own_untils[users[i]] or -1)
    end
  end

  if #others > 0 then
    local seqs = {}
    for k, i in ipairs(others) do seqs[k] = seq_texts[i] end
    local done = redis.call('HMGET', K_DONE, unpack(seqs))
    for k, i in ipairs(others) do
      put_view(out, i, done[k] == users[i] and 'DONE' or 'EXPIRED', -1, -1, -1)
    end
  end
  return live_users
end
