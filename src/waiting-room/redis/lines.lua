-- lines: concerts with anyone waiting or active (the admission job's work list).
-- KEYS: 1 the registry of lines (the only key this script gets)
return redis.call('SMEMBERS', KEYS[1])
