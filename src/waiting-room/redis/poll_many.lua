-- poll_many: the statuses of several places of one line in one call: the polls of a line that reached
-- an instance at once, and the pushed-status fan-out (once per tick per watched line). Each live
-- waiting place gets its heartbeat: polling and watching keep the place.
-- ARGV: 1 waiting idle ms, then user, seq pairs
-- Returns { status, position, activeUntil, pace, ownUntil } for each pair, flattened, in the order given.
local idle_ms = tonumber(ARGV[1])
local now, now_sec = clock()
local cutoff = now - idle_ms
local rate = pace(now_sec)
local out = {}
for i = 2, #ARGV, 2 do
  local user, seq = ARGV[i], ARGV[i + 1]
  local status, active_until, live_waiting, own_until = session(user, seq, now, idle_ms)
  if live_waiting then redis.call('ZADD', K_SEEN, now, user) end
  local v = view(status, user, active_until, cutoff, rate, own_until)
  for j = 1, 5 do out[#out + 1] = v[j] end
end
return out
