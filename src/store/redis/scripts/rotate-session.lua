-- Refresh's compare-and-rotate (src/sessions/refresh.ts), atomic: decideRotation() of
-- src/sessions/policy.ts, step for step.
-- The refresh budget's state (a GCRA TAT) is stored in `rb` as milliseconds after the last
-- refresh `rt`, not as an epoch time: a small number keeps the session hash within its memory
-- allocation class (test/store/redis.test.ts measures it).
-- A detected reuse appends its session.revoked event (rotationEvents() of src/events/policy.ts).
-- KEYS: session grace index user events
-- ARGV: presentedHash nextHash graceBox now graceMs refreshTtlMs sessionId limitIntervalMs limitCapacityMs userId eventId eventsRetentionMs
-- Returns {'not_found'} | {'limited', retryAfterMs} | {'mismatch'} | {'reused'} |
-- {'account_not_found'} | {'account_disabled'} | {'rotated', HGETALL session, HGETALL user} |
-- {'grace', HGETALL session, HGETALL user, box}.
local s = redis.call('HMGET', session, 'rh', 'ph', 'rt', 'e', 'r', 'rb')
local t = tonumber(now)

-- 1. gone, or ended by `now` (absolute end `e`, refresh deadline `r`)
if not s[1] then return {'not_found'} end
local e = tonumber(s[4])
if e <= t or tonumber(s[5]) <= t then return {'not_found'} end

-- 2. the session's refresh budget, before anything is spent or revoked
local rotatedAt = tonumber(s[3])
local tat = nil
if s[6] and rotatedAt then tat = rotatedAt + tonumber(s[6]) end
if limitIntervalMs ~= '0' then
  local allowed, _, retryAfter, next = gcra(tat, t, tonumber(limitIntervalMs), tonumber(limitCapacityMs), true)
  if not allowed then return {'limited', retryAfter} end
  tat = next
end

-- The account, read once: the refusal is decided on the hash the answer returns (no hash: no
-- account; a `d` field: disabled), one command instead of EXISTS + HEXISTS + HGETALL.
local function account_refusal()
  local u = redis.call('HGETALL', user)
  if #u == 0 then return 'account_not_found', u end
  for i = 1, #u, 2 do
    if u[i] == 'd' then return 'account_disabled', u end
  end
  return nil, u
end

-- 3. the current token: rotate. Plain equality is fine: these are hashes of 256-bit secrets.
if presentedHash == s[1] then
  local refused, u = account_refusal()
  if refused then return {refused} end
  local r = int(math.min(t + tonumber(refreshTtlMs), e))
  if tat then
    redis.call('HSET', session, 'ph', s[1], 'rh', nextHash, 'rt', now, 'r', r, 'rb', int(tat - t))
  else
    redis.call('HSET', session, 'ph', s[1], 'rh', nextHash, 'rt', now, 'r', r)
  end
  redis.call('PEXPIREAT', session, r)
  if tonumber(graceMs) > 0 then
    redis.call('SET', grace, graceBox, 'PX', graceMs)
  else
    redis.call('DEL', grace)
  end
  redis.call('ZADD', index, r, sessionId)
  prune_index(index, now)
  return {'rotated', redis.call('HGETALL', session), u}
end

-- 4. the previous token: its successor again within the grace period, else the session ends.
if s[2] and presentedHash == s[2] then
  if rotatedAt and t - rotatedAt <= tonumber(graceMs) then
    local box = redis.call('GET', grace)
    if box then
      local refused, u = account_refusal()
      if refused then return {refused} end
      if limitIntervalMs ~= '0' then redis.call('HSET', session, 'rb', int(tat - rotatedAt)) end
      return {'grace', redis.call('HGETALL', session), u, box}
    end
  end
  redis.call('DEL', session, grace)
  redis.call('ZREM', index, sessionId)
  emit(events_of(events, eventId, now, userId, eventsRetentionMs), 'session.revoked', {sessionId = sessionId, reason = 'refresh_token_reused'})
  return {'reused'}
end

-- 5. anything else changes nothing: a guess must not revoke anyone's session.
return {'mismatch'}
