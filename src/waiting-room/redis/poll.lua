-- poll: the status of one place; for a live waiting place it is also the heartbeat.
-- ARGV: 1 user, 2 seq, 3 waiting idle ms
-- Returns { status, position, activeUntil, pace, ownUntil }.
local user, seq, idle_ms = ARGV[1], ARGV[2], tonumber(ARGV[3])
local now, now_sec = clock()
local status, active_until, live_waiting, own_until = session(user, seq, now, idle_ms)
if live_waiting then redis.call('ZADD', K_SEEN, now, user) end
return view(status, user, active_until, now - idle_ms, pace(now_sec), own_until)
