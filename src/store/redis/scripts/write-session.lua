-- Sign-in's write (src/sessions/sign-in.ts), all or nothing: decideSessionWrite() and
-- sessionsOverCap() of src/sessions/policy.ts, and signInEvents() of src/events/policy.ts.
-- KEYS: user session index identities retired events
-- ARGV: now sessionEnd sessionId mustExist maxSessions limitIntervalMs limitCapacityMs sessionPrefix gracePrefix provider subject profile[] profileFields[] names[] claims[] sessionFields[] userId eventId eventsRetentionMs
-- CONSTS: profileEvent[]
-- profile: field/value pairs of the profile fields this sign-in writes (null claims absent);
-- profileFields: their base names, each of whose pieces (`n`, `n1`, …) is removed first, so a
-- claim that became null or shorter leaves nothing behind; names: field/value pairs of the
-- name fields (n, gn, fn), written only when the account has none of them; claims: the
-- identity's claims (write_identity_claims in lib.lua); sessionFields: the session's
-- field/value pairs. events, userId, eventId, eventsRetentionMs: see events_of in
-- lib-events.lua; profileEvent (a constant: PROFILE_EVENT_SPEC of codec.ts, written in when the script
-- is assembled): the profile fields events carry (profile_data in lib-events.lua).
-- Returns {'gone'} | {'not_linked'} | {'account_disabled'} | {'identity_locked'} | {'limited', retryAfterMs} |
-- {'written', isNew 0|1, HGETALL user, events appended}.
local t = tonumber(now)
local exists = redis.call('EXISTS', user) == 1

-- decideSessionWrite
if redis.call('EXISTS', retired) == 1 then return {'gone'} end
if not exists and mustExist == '1' then return {'gone'} end
if exists then
  -- The link led here; the account must list this identity (pending or linked) as its own.
  if stored_identity(user, identities, provider) ~= subject then return {'not_linked'} end
  if redis.call('HEXISTS', user, 'd') == 1 then return {'account_disabled'} end
  if redis.call('HEXISTS', identities, provider .. '.lk') == 1 then return {'identity_locked'} end
end
local fields = profile
if limitIntervalMs ~= '0' then
  local allowed, _, retryAfter, tat =
    gcra(tonumber(redis.call('HGET', user, 'sb')), t, tonumber(limitIntervalMs), tonumber(limitCapacityMs), true)
  if not allowed then return {'limited', retryAfter} end
  fields[#fields + 1] = 'sb'; fields[#fields + 1] = int(tat)
end

-- The profile: createdAt, disabled, the budget and the fields this provider does not write stay.
local was = exists and redis.call('HGETALL', user) or nil
if exists then
  local named = redis.call('HEXISTS', user, 'n') == 1 or redis.call('HEXISTS', user, 'gn') == 1 or redis.call('HEXISTS', user, 'fn') == 1
  if not named then for _, v in ipairs(names) do fields[#fields + 1] = v end end
  local clear = {}
  for _, f in ipairs(profileFields) do clear[f] = true end
  local stale = {}
  for _, f in ipairs(redis.call('HKEYS', user)) do
    if clear[(string.gsub(f, '%d+$', ''))] then stale[#stale + 1] = f end
  end
  if #stale > 0 then redis.call('HDEL', user, unpack(stale)) end
else
  for _, v in ipairs(names) do fields[#fields + 1] = v end
  fields[#fields + 1] = 'c'; fields[#fields + 1] = now
end
fields[#fields + 1] = 'ls'; fields[#fields + 1] = now
redis.call('HSET', user, unpack(fields))

-- The identity: the account's from now on (a pending one is confirmed: its link leads here).
if exists then upgrade_identities(user, identities) end
-- One HDEL (the pending mark and the old claims) and one HSET (the link, if new, and the claims).
local link = nil
if redis.call('HEXISTS', identities, provider) == 0 then link = {provider, subject, provider .. '.at', now} end
write_identity_claims(identities, provider, claims, provider .. '.p', link)

-- The session, expiring at its end (already past: PEXPIREAT deletes it at once).
redis.call('DEL', session)
redis.call('HSET', session, unpack(sessionFields))
redis.call('PEXPIREAT', session, sessionEnd)
redis.call('ZADD', index, sessionEnd, sessionId)

-- sessionsOverCap: of the other sessions still stored, the oldest by creation, then id.
redis.call('ZREMRANGEBYSCORE', index, '-inf', now)
local capEnded = {}
local max = tonumber(maxSessions)
if max > 0 and redis.call('ZCARD', index) > max then
  local others = {}
  for _, sid in ipairs(redis.call('ZRANGE', index, 0, -1)) do
    if sid ~= sessionId then
      local c = redis.call('HGET', sessionPrefix .. sid, 'c')
      if c then others[#others + 1] = {tonumber(c), sid} else redis.call('ZREM', index, sid) end
    end
  end
  table.sort(others, function(a, b)
    if a[1] ~= b[1] then return a[1] < b[1] end
    return before(a[2], b[2])
  end)
  for j = 1, #others - (max - 1) do
    end_session(index, sessionPrefix, gracePrefix, others[j][2])
    capEnded[#capEnded + 1] = others[j][2]
  end
end
-- The ended entries were dropped above (ZREMRANGEBYSCORE at `now`), the cap's by end_session.
expire_index(index)
-- The profile events compare the whole profile before and after (a provider writes only its
-- fields, and names may fill an account without one).
local after = redis.call('HGETALL', user)
local ev = events_of(events, eventId, now, userId, eventsRetentionMs)
sign_in_events(ev, was, after, profileEvent, capEnded)
return {'written', exists and 0 or 1, after, ev.n}
