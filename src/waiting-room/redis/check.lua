-- check: the status of one place, without the heartbeat (the guard of payments and catalogue reads).
-- ARGV: 1 user, 2 seq, 3 waiting idle ms
-- Returns { status, position, activeUntil, ownUntil }; the pace is not read (its view has none).
local user, seq, idle_ms = ARGV[1], ARGV[2], tonumber(ARGV[3])
local now = clock()
local out = {}
sessions({ user }, { seq }, now, now - idle_ms, sold_out(), out)
return out
