-- extend: a live ACTIVE session within its own time lasts at least until ARGV[3], so that a hold made now
-- can be paid. Never shortens it. Past its own time a session lives on only to pay what it holds, so it is
-- not extended (a hold made then is undone: holding, cancelling and holding again would keep it alive
-- without end; helper-34). Any other session is left alone, and its view returned.
-- ARGV: 1 user, 2 seq, 3 until ms, 4 waiting idle ms
-- Returns { status, position, activeUntil, ownUntil }; the pace is not read (its view has none).
local user, seq, until_ms, idle_ms = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local now = clock()
local out = {}
sessions({ user }, { seq }, now, now - idle_ms, sold_out(), out)
local own_until = tonumber(out[4])
if out[1] == 'ACTIVE' and (own_until < 0 or now < own_until) and until_ms > out[3] then
  out[3] = until_ms
  redis.call('ZADD', K_ACTIVE, until_ms, user)
end
return out
