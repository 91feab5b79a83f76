-- set_sold_out: waiting and active users of a sold-out line read SOLD_OUT, and joining is refused.
-- ARGV: 1 '1' sold out | '0' open
if ARGV[1] == '1' then
  redis.call('SET', K_SOLD_OUT, '1')
else
  redis.call('DEL', K_SOLD_OUT)
end
return 1
