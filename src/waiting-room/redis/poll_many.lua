-- poll_many: the statuses of several places of one line in one call (the pushed-status fan-out asks
-- once per tick per line, however many people watch it). Each live waiting place gets its heartbeat,
-- as a poll would give it: watching keeps the place.
-- ARGV: 1 waiting idle ms, then user, seq pairs
-- Returns { status, position, activeUntil, pace } for each pair, flattened, in the order given.
local idle_ms = tonumber(ARGV[1])
local now, now_sec = clock()
local cutoff = now - idle_ms
local rate = pace(now_sec)
local out = {}
for i = 2, #ARGV, 2 do
  local user, seq = ARGV[i], ARGV[i + 1]
  local status, active_until, live_waiting = session(user, seq, now, idle_ms)
  if live_waiting then redis.call('ZADD', K_SEEN, now, user) end
  local v = view(status, user, active_until, cutoff, rate)
  for j = 1, 4 do out[#out + 1] = v[j] end
end
return out
