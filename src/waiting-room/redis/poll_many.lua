-- poll_many: the statuses of several places of one line in one call: the polls of a line that reached
-- an instance at once, and the pushed-status fan-out (once per tick per watched line). Each live
-- waiting place gets its heartbeat: polling and watching keep the place. The places are read together
-- (sessions()) and their heartbeats written in one ZADD: per place, only its rank is read on its own.
-- ARGV: 1 waiting idle ms, then user, seq pairs
-- Returns { status, position, activeUntil, ownUntil } for each pair, in the order given, then the pace.
local idle_ms = tonumber(ARGV[1])
local now, now_sec = clock()
local users, seqs = {}, {}
for i = 2, #ARGV, 2 do
  users[#users + 1] = ARGV[i]
  seqs[#seqs + 1] = ARGV[i + 1]
end

local line = line_facts()
local out = {}
local live_users = sessions(users, seqs, now, now - idle_ms, line.sold_out, out)
if #live_users > 0 then
  local heartbeats = {}
  local now_text = int(now)
  for k, user in ipairs(live_users) do
    heartbeats[2 * k - 1] = now_text
    heartbeats[2 * k] = user
  end
  redis.call('ZADD', K_SEEN, unpack(heartbeats))
end
out[#users * 4 + 1] = pace(now_sec, line.kept_pace)
return out
