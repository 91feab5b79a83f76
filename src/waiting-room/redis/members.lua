#!lua flags=no-writes,allow-cross-slot-keys
-- members (cluster only): the members of many sets that all live on the node running the script, in one
-- round trip. The set names come as ARGV, not KEYS: a script may read undeclared keys of its own node,
-- and Redis refuses it whole ("non local key") if the caller's slot map is stale and one of them lives
-- elsewhere; the caller then reads those sets one by one. Read only, so it can do no harm on any node.
local out = {}
for i = 1, #ARGV do
  local members = redis.call('SMEMBERS', ARGV[i])
  for j = 1, #members do out[#out + 1] = members[j] end
end
return out
