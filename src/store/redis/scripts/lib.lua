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

-- The index lives as long as its latest session.
local function expire_index(index)
  local top = redis.call('ZRANGE', index, -1, -1, 'WITHSCORES')
  if top[2] then redis.call('PEXPIREAT', index, top[2]) end
end

-- Drops index entries whose session ended by `now`; the index lives as long as its latest session.
local function prune_index(index, now)
  redis.call('ZREMRANGEBYSCORE', index, '-inf', now)
  expire_index(index)
end

-- A string the codec stored in pieces (`f`, `f1`, `f2`, …; src/store/redis/codec.ts), whole;
-- nil when absent.
local function read_pieces(key, field)
  local value = redis.call('HGET', key, field)
  if not value then return nil end
  local i = 1
  while true do
    local piece = redis.call('HGET', key, field .. i)
    if not piece then return value end
    value = value .. piece
    i = i + 1
  end
end

-- Upgrade in place, idempotent: an account written before accounts had several identities has
-- no identities hash; its one identity is Google's, whose sub is the user's `s` field, linked
-- when the account was created, with the account's email. Writes that hash once; a no-op for
-- an account that has one (or has no `s`).
local function upgrade_identities(user, ids)
  if redis.call('EXISTS', ids) == 1 then return end
  local sub = read_pieces(user, 's')
  if not sub then return end
  local f = {'google', sub, 'google.at', redis.call('HGET', user, 'c') or '0', 'google.ev', redis.call('HGET', user, 'ev') or '0', 'google.pe', '0'}
  local em = read_pieces(user, 'em')
  if em then f[#f + 1] = 'google.em'; f[#f + 1] = em end
  redis.call('HSET', ids, unpack(f))
end

-- The account's identity of `provider`: its subject (nil: none) and whether it is still
-- pending. Reads an account of the earlier layout (see upgrade_identities) without writing.
local function stored_identity(user, ids, provider)
  local sub = redis.call('HGET', ids, provider)
  if sub then return sub, redis.call('HEXISTS', ids, provider .. '.p') == 1 end
  if provider == 'google' and redis.call('EXISTS', ids) == 0 then return read_pieces(user, 's'), false end
  return nil, false
end

-- The identity's claims replace the stored ones. `claims`: field/value pairs of em, ev, pe, rs
-- (absent ones left out); any other field of the identity (its link time) stays. `alsoDel`
-- (optional): one more field to remove; `alsoSet` (optional): more field/value pairs to write
-- (none of them a claim), in the same two commands.
local function write_identity_claims(ids, provider, claims, alsoDel, alsoSet)
  if alsoDel then
    redis.call('HDEL', ids, provider .. '.em', provider .. '.ev', provider .. '.pe', provider .. '.rs', alsoDel)
  else
    redis.call('HDEL', ids, provider .. '.em', provider .. '.ev', provider .. '.pe', provider .. '.rs')
  end
  local f = alsoSet or {}
  for i = 1, #claims, 2 do f[#f + 1] = provider .. '.' .. claims[i]; f[#f + 1] = claims[i + 1] end
  if #f > 0 then redis.call('HSET', ids, unpack(f)) end
end

-- Every field of the identity of `provider` (`<provider>` and `<provider>.*`). Versions
-- before several identities read the Google sub from the user's `s`: it goes with it.
local function remove_identity(user, ids, provider)
  local f = {}
  for _, k in ipairs(redis.call('HKEYS', ids)) do
    if k == provider or string.sub(k, 1, #provider + 1) == provider .. '.' then f[#f + 1] = k end
  end
  if #f > 0 then redis.call('HDEL', ids, unpack(f)) end
  if provider == 'google' then
    for _, k in ipairs(redis.call('HKEYS', user)) do
      if string.match(k, '^s%d*$') then redis.call('HDEL', user, k) end
    end
  end
end

-- Hands the identity's sealed provider token (`<provider>.rt`) over for revocation: it moves to
-- the account's `revoke:{uid}` hash under `<eventId>:<provider>`, the event the same step
-- appends, with the identity it belongs to (src/store/types.ts TokenRevocationStore). Nothing
-- when the identity has no token.
local function hand_over_token(identities, tokens, provider, sub, eventId)
  local rt = redis.call('HGET', identities, provider .. '.rt')
  if rt then redis.call('HSET', tokens, eventId .. ':' .. provider, provider .. '\n' .. sub .. '\n' .. rt) end
end
