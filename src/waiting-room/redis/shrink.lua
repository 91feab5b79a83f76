-- shrink: a hold was cancelled; the session lasts no longer than its own time or what the user's
-- remaining live holds still need (ARGV[3]), whichever is later. Never lengthens it; only the admitted
-- session with this seq is touched.
-- ARGV: 1 user, 2 seq, 3 until ms (the remaining holds' need, 0 if none)
-- Returns 1 if it shortened the session, else 0.
local user, seq, until_ms = ARGV[1], ARGV[2], tonumber(ARGV[3])
local active_seq, own_until = admitted(user)
if active_seq ~= tonumber(seq) or own_until == nil then return 0 end
local active_until = num(redis.call('ZSCORE', K_ACTIVE, user))
if active_until == nil then return 0 end
local target = math.max(own_until, until_ms)
if target >= active_until then return 0 end
redis.call('ZADD', K_ACTIVE, target, user)
return 1
