-- extend: a live ACTIVE session lasts at least until ARGV[3], so that a hold made now can be paid.
-- Never shortens it. Any other session is left alone and its view returned.
-- ARGV: 1 user, 2 seq, 3 until ms, 4 waiting idle ms
-- Returns { status, position, activeUntil, '', ownUntil }.
local user, seq, until_ms, idle_ms = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local now = clock()
local found = sessions({ user }, { seq }, now, now - idle_ms)
local session = found[1]
if session.status == 'ACTIVE' and until_ms > session.active_until then
  session.active_until = until_ms
  redis.call('ZADD', K_ACTIVE, until_ms, user)
end
return views({ user }, found, nil, {})
