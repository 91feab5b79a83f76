-- join_many: for each user, their live place (a heartbeat if WAITING), or a fresh place at the back, in
-- the order given (the joins of one line that reached an instance at once; a user named twice gets one
-- place). Before the opening (ARGV[3], epoch ms of the Redis clock; -1 = open) and until the line is
-- drawn, a new place goes to the pre-queue: in the line, without a position until the draw.
-- ARGV: 1 concert id, 2 waiting idle ms, 3 opens at ms or -1, then the users
-- Returns { seq, created 0|1, status, position, activeUntil, ownUntil } for each user, in the order
-- given, then the pace; or { 'SOLD_OUT', 0, '', -1, -1, -1 } for each, then '', when the line is sold out.
--
-- Per user this costs one ZRANK (a live place) or nothing of its own (a fresh place): what the users
-- already have is read for all of them at once, the seq counter is read and written once, the new places
-- and heartbeats are written in one ZADD each, and a fresh place at the back is as far back as the line
-- is long (its score, the newest seq, is the highest), so its position is the count of the line.
local concert, idle_ms, opens_at = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local now, now_sec = clock()
local cutoff = now - idle_ms
local out = {}
local function answer(seq, created, status, position, active_until, own_until)
  local n = #out
  out[n + 1], out[n + 2], out[n + 3] = seq, created, status
  out[n + 4], out[n + 5], out[n + 6] = position, active_until, own_until
end

local line = line_facts()
if line.sold_out then
  for _ = 4, #ARGV do answer('SOLD_OUT', 0, '', -1, -1, -1) end
  out[#out + 1] = ''
  return out
end

local users = {}
for i = 4, #ARGV do users[#users + 1] = ARGV[i] end
-- Every join answers a position (or none, in the pre-queue, after the same sweep). When the sweep left
-- no idle waiter, every place in the line is live and no heartbeat needs reading.
local all_live = sweep_for_positions(#users, cutoff)

-- What the users have now, kept up to date below as this call changes it (a user named twice).
local waiting = scores(K_WAITING, users)
local seen = {}
if not all_live then seen = scores(K_SEEN, users) end
local absent = {}
for _, user in ipairs(users) do
  if waiting[user] == nil then absent[#absent + 1] = user end
end
local active_seqs, own_untils = admissions(absent)
local admitted_users = {}
for user in pairs(active_seqs) do admitted_users[#admitted_users + 1] = user end
local active_untils = scores(K_ACTIVE, admitted_users)

local last_seq = line.last_seq
local pre_queue = opens_at > now and not line.drawn
local line_length = redis.call('ZCARD', K_WAITING)
-- New places not written yet: written together before anything reads ranks, and at the end.
local places = {}
local function write_places()
  if #places > 0 then redis.call('ZADD', K_WAITING, unpack(places)) end
  places = {}
end
local heartbeats = {}
local samples = {} -- join-time samples (JOIN_SAMPLE), written at the end
-- A line that emptied lost its samples (admit.lua): the first place after that is sampled whatever its
-- seq, or the front of the line would have no sample dating it (the operator's oldest wait read null
-- while people waited: helper-33).
local dated = redis.call('EXISTS', K_JOINED) == 1
local now_text = int(now)
local function heartbeat(user)
  heartbeats[#heartbeats + 1] = now_text
  heartbeats[#heartbeats + 1] = user
  seen[user] = now
end

local function join(user)
  local waiting_score = waiting[user]
  if waiting_score ~= nil then
    if all_live or (seen[user] ~= nil and seen[user] > cutoff) then
      heartbeat(user)
      write_places()
      return answer(seq_of(waiting_score), 0, 'WAITING', rank(user, waiting_score), -1, -1)
    end
    -- The place lapsed: it ends here, and the user joins again at the back.
    redis.call('ZREM', K_WAITING, user)
    redis.call('ZREM', K_SEEN, user)
    line_length = line_length - 1
  else
    local active_seq = active_seqs[user]
    if active_seq ~= nil then
      local active_until = active_untils[user]
      if active_until ~= nil and active_until > now then
        return answer(active_seq, 0, 'ACTIVE', -1, active_until, own_untils[user] or -1)
      end
      redis.call('ZREM', K_ACTIVE, user)
      redis.call('HDEL', K_ACTIVE_SEQ, user)
      active_seqs[user] = nil
    end
  end

  last_seq = last_seq + 1
  local seq = last_seq
  if seq % JOIN_SAMPLE == 1 or not dated then
    dated = true
    samples[#samples + 1] = seq
    samples[#samples + 1] = now_text .. ':' .. seq
  end
  local score = seq
  if pre_queue then score = PRE + seq end
  places[#places + 1] = int(score)
  places[#places + 1] = user
  waiting[user] = score
  heartbeat(user)
  line_length = line_length + 1
  local position = line_length
  if pre_queue then position = -1 end
  return answer(seq, 1, 'WAITING', position, -1, -1)
end

for _, user in ipairs(users) do join(user) end
write_places()
if #heartbeats > 0 then redis.call('ZADD', K_SEEN, unpack(heartbeats)) end
if #samples > 0 then redis.call('ZADD', K_JOINED, unpack(samples)) end
if last_seq > line.last_seq then redis.call('SET', K_SEQ, int(last_seq)) end
redis.call('SADD', K_LINES, concert)
out[#out + 1] = pace(now_sec, line.kept_pace)
return out
