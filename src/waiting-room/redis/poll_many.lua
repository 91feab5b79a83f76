-- poll_many: the statuses of several places of one line in one call: the polls of a line that reached
-- an instance at once, and the pushed-status fan-out (once per tick per watched line). Each live
-- waiting place gets its heartbeat: polling and watching keep the place. The places are read together
-- (sessions()) and their heartbeats written in one ZADD: per place, only its rank is read on its own.
-- ARGV: 1 waiting idle ms, then user, seq pairs
-- Returns { status, position, activeUntil, pace, ownUntil } for each pair, flattened, in the order given.
local idle_ms = tonumber(ARGV[1])
local now, now_sec = clock()
local users, seqs = {}, {}
for i = 2, #ARGV, 2 do
  users[#users + 1] = ARGV[i]
  seqs[#seqs + 1] = ARGV[i + 1]
end

local found = sessions(users, seqs, now, now - idle_ms)
local heartbeats = {}
for i = 1, #found do
  if found[i].live then
    heartbeats[#heartbeats + 1] = now
    heartbeats[#heartbeats + 1] = users[i]
  end
end
if #heartbeats > 0 then redis.call('ZADD', K_SEEN, unpack(heartbeats)) end
return views(users, found, pace(now_sec), {})
