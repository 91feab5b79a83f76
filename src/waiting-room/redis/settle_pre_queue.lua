-- settle_pre_queue: the line's opening was cleared before its draw. The pre-queue's places (never drawn,
-- no position) become ordinary places in join order, ahead of everyone who joined after them, so each is
-- told its position (they read WAITING with neither a position nor an opening: helper-34). A drawn line
-- is left as it is. As the draw, it rewrites every place of the pre-queue in one step.
-- Returns how many places were settled.
if redis.call('EXISTS', K_DRAWN) == 1 then return 0 end
local pre = redis.call('ZRANGEBYSCORE', K_WAITING, int(PRE), '(' .. int(PRE + BAND), 'WITHSCORES')
for i = 1, #pre, 2 do
  redis.call('ZADD', K_WAITING, int(seq_of(tonumber(pre[i + 1]))), pre[i])
end
return #pre / 2
