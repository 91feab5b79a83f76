-- end_session: an operator ends a user's live place (waiting or active) in this line; the user's token
-- then reads EXPIRED and the slot goes to the next person at the next admission step.
-- ARGV: 1 user
-- Returns { 1 } if the user had a live place, else { 0 }.
local user = ARGV[1]
local ended = redis.call('ZREM', K_WAITING, user) + redis.call('ZREM', K_ACTIVE, user)
redis.call('ZREM', K_SEEN, user)
redis.call('HDEL', K_ACTIVE_SEQ, user)
if ended > 0 then return { 1 } end
return { 0 }
