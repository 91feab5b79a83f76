-- check: the status of one place, without the heartbeat (the guard of payments and catalogue reads).
-- ARGV: 1 user, 2 seq, 3 waiting idle ms
-- Returns { status, position, activeUntil, '', ownUntil }.
local user, seq, idle_ms = ARGV[1], ARGV[2], tonumber(ARGV[3])
local now = clock()
local status, active_until, _, own_until = session(user, seq, now, idle_ms)
return view(status, user, active_until, now - idle_ms, nil, own_until)
