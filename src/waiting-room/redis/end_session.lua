-- end_session: an operator ends a user's live place (waiting or active) in this line; the user's token
-- then reads EXPIRED and the slot goes to the next person at the next admission step.
-- ARGV: 1 user
-- Returns { 1, seq of the place ended } if the user had a live place, else { 0 }.
local user = ARGV[1]
local waiting = redis.call('ZSCORE', K_WAITING, user)
local seq = admitted(user)
if waiting then seq = seq_of(tonumber(waiting)) end
local ended = redis.call('ZREM', K_WAITING, user) + redis.call('ZREM', K_ACTIVE, user)
redis.call('ZREM', K_SEEN, user)
redis.call('HDEL', K_ACTIVE_SEQ, user)
-- Every admission records the seq (admit.lua); 0, which no join is given, would stand for a missing one.
if ended > 0 then return { 1, seq or 0 } end
return { 0 }
