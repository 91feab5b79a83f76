-- extend_many: the holds made at once in one line, each extending its session, in one call. A live ACTIVE
-- session within its own time lasts at least until the hold's time, so that the hold can be paid. Never
-- shortens it. Past its own time a session lives on only to pay what it holds, so it is not extended (a
-- hold made then is undone: holding, cancelling and holding again would keep it alive without end;
-- helper-34). Any other session is left alone, and its view returned. Each is decided as if alone, in the
-- order given: two holds of one session in one call each see what the one before it did.
-- ARGV: 1 waiting idle ms, then user, seq, until ms triples
-- Returns { status, position, activeUntil, ownUntil } for each triple, in the order given; the pace is
-- not read (its view has none).
local idle_ms = tonumber(ARGV[1])
local now = clock()
local users, seqs, untils = {}, {}, {}
for i = 2, #ARGV, 3 do
  users[#users + 1] = ARGV[i]
  seqs[#seqs + 1] = ARGV[i + 1]
  untils[#untils + 1] = tonumber(ARGV[i + 2])
end

local out = {}
sessions(users, seqs, now, now - idle_ms, sold_out(), out)
local extended = {} -- user -> the activeUntil an earlier triple of this call gave the session
local changes = {}
for i = 1, #users do
  local at = (i - 1) * 4
  if out[at + 1] == 'ACTIVE' then
    local user = users[i]
    local active_until = math.max(out[at + 3], extended[user] or 0)
    local own_until = tonumber(out[at + 4])
    if (own_until < 0 or now < own_until) and untils[i] > active_until then
      active_until = untils[i]
      extended[user] = active_until
      changes[#changes + 1] = int(active_until)
      changes[#changes + 1] = user
    end
    out[at + 3] = active_until
  end
end
if #changes > 0 then redis.call('ZADD', K_ACTIVE, unpack(changes)) end
return out
