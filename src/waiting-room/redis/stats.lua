-- stats: the operator's read-out of one line.
-- ARGV: 1 waiting idle ms
-- Returns { waiting, active, admitted in the last minute, oldest waiter's join time ms or -1, sold out 0|1 }.
local idle_ms = tonumber(ARGV[1])
local now, now_sec = clock()
local cutoff = now - idle_ms
sweep_idle(cutoff, SWEEP_ADMIT)

local waiting = redis.call('ZCARD', K_WAITING) - redis.call('ZCOUNT', K_SEEN, '-inf', cutoff)
local active = redis.call('ZCOUNT', K_ACTIVE, '(' .. now, '+inf')
local admitted = 0
local flat = redis.call('HGETALL', K_ADMITS)
for i = 1, #flat, 2 do
  -- ('b' and 'a' .. second fields are how many were live before and after that second's steps.)
  local at = tonumber(flat[i])
  if at and at > now_sec - 60 then admitted = admitted + tonumber(flat[i + 1]) end
end

-- The front waiter joined at or after the latest sample taken at or before its seq.
local oldest = -1
local front = redis.call('ZRANGE', K_WAITING, 0, 0, 'WITHSCORES')
if #front > 0 then
  local dating = redis.call('ZREVRANGEBYSCORE', K_JOINED, int(seq_of(tonumber(front[2]))), '-inf', 'LIMIT', 0, 1)
  if #dating > 0 then oldest = tonumber(string.match(dating[1], '^(%d+):')) end
end
return { waiting, active, admitted, oldest, sold_out() and 1 or 0 }
