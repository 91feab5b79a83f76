-- wrk script of the bench (test/tools/bench/wrk.ts): sends prepared raw HTTP requests and counts the statuses.
-- args: 1 the path of the request files: thread t reads `<path>.<t>`, its share of the raw requests
-- separated by NUL bytes (requests t, t + threads, t + 2 * threads, ... of the list; wrk.ts writes them).
-- It sends them in order and starts over at the end of its share (`wrapped` tells: a scenario of
-- single-use requests then sees repeats, counted by status).

local threads = {}

function setup(thread)
  thread:set('id', #threads)
  table.insert(threads, thread)
end

local requests, count, next_index = {}, 0, 0
statuses, wrapped = {}, 0

function init(args)
  local file = assert(io.open(args[1] .. '.' .. id, 'rb'))
  local data = file:read('*a')
  file:close()
  for raw in string.gmatch(data, '([^%z]+)') do
    count = count + 1
    requests[count] = raw
  end
  assert(count > 0, 'no request for thread ' .. id)
end

function request()
  next_index = next_index + 1
  if next_index > count then
    next_index = 1
    wrapped = wrapped + 1
  end
  return requests[next_index]
end

-- Counting statuses costs wrk a Lua call with the whole body per answer (megabytes for a big seat map):
-- only when asked (WRK_STATUSES=1); otherwise wrk's own count of answers >= 400 is the error count.
if os.getenv('WRK_STATUSES') == '1' then
  function response(status)
    statuses[status] = (statuses[status] or 0) + 1
  end
end

function done(summary, latency)
  local all, wraps = {}, 0
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get('statuses')) do all[status] = (all[status] or 0) + n end
    wraps = wraps + thread:get('wrapped')
  end
  local parts = {}
  for status, n in pairs(all) do table.insert(parts, string.format('"%d":%d', status, n)) end
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests":%d,"durationUs":%d,"p50Us":%d,"p99Us":%d,"maxUs":%d,"socketErrors":%d,"statusErrors":%d,"wrapped":%d,"statuses":{%s}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    e.connect + e.read + e.write + e.timeout, e.status, wraps, table.concat(parts, ',')))
end
