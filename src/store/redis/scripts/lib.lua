-- Shared local functions, loaded in front of every script (src/store/redis/lua.ts). Nothing here
-- runs by itself. Times arrive as integer strings; Lua numbers are doubles, exact for epoch ms.

-- An exact integer string: tostring() switches to exponent notation past 14 digits.
local function int(n)
  return string.format('%.0f', n)
end

-- Byte order of two strings, as src/sessions/policy.ts compares ids. Lua's `<` on strings
-- follows the server's collation locale (Redis calls setlocale(LC_COLLATE, "")), which may
-- order `a` and `B` otherwise.
local function before(a, b)
  for i = 1, math.min(#a, #b) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end

-- One GCRA step: gcra() of src/store/gcra.ts. `stored` is the stored TAT (nil when none).
-- Returns allowed, remaining, retryAfterMs, and when an event is counted the TAT to store and
-- its TTL.
local function gcra(stored, now, interval, capacity, consume)
  local tat = stored
  if not tat or tat < now then tat = now end
  local debt = tat + interval - now
  if debt > capacity then return false, 0, debt - capacity, nil, nil end
  if consume then return true, math.floor((capacity - debt) / interval), 0, tat + interval, debt end
  return true, math.floor((capacity - (tat - now)) / interval), 0, nil, nil
end

-- Ends one session: its record, its grace box, its index entry. Returns 1 when the record was
-- still stored. A user's session and grace keys are named from prefixes (`<p>sess:{uid}:`,
-- `<p>grace:{uid}:`) rather than declared in KEYS, because which sessions a script ends is
-- known only inside it, where reading the index and deleting is atomic. They carry the same
-- `{uid}` hash tag as the declared keys, so they live in the same Cluster slot, which is what
-- Redis Cluster requires of a script's keys.
local function end_session(index, sessionPrefix, gracePrefix, sid)
  local n = redis.call('DEL', sessionPrefix .. sid)
  redis.call('DEL', gracePrefix .. sid)
  redis.call('ZREM', index, sid)
  return n
end

-- Drops index entries whose session ended by `now`; the index lives as long as its latest session.
local function prune_index(index, now)
  redis.call('ZREMRANGEBYSCORE', index, '-inf', now)
  local top = redis.call('ZRANGE', index, -1, -1, 'WITHSCORES')
  if top[2] then redis.call('PEXPIREAT', index, top[2]) end
end
