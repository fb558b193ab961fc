-- Ends sessions and changes the account, in one step: sessionsEnding() and
-- accountRevocation() of src/sessions/policy.ts.
-- KEYS: user index identities retired
-- ARGV: scope sessionId sessionPrefix gracePrefix retiredMs
-- scope: 'session' (sessionId only), 'others' (every indexed session but sessionId), 'all',
-- and the account changes 'disabled' (flag set, all end), 'enabled' (flag cleared, none end),
-- 'deleted' (all end, then the index, the identities and the user record go, and the id of an
-- account that existed is retired for retiredMs, as retire-account.lua).
-- Returns {found, ended} and, for 'deleted', the identities the account had, as
-- provider/subject pairs: found is 0 for an account change on an unknown user (nothing is
-- created); ended counts the sessions whose record was still stored.
local function end_indexed(keep)
  local ended = 0
  for _, sid in ipairs(redis.call('ZRANGE', index, 0, -1)) do
    if sid ~= keep then ended = ended + end_session(index, sessionPrefix, gracePrefix, sid) end
  end
  return ended
end

if scope == 'session' then return {1, end_session(index, sessionPrefix, gracePrefix, sessionId)} end
if scope == 'others' then return {1, end_indexed(sessionId)} end
if scope == 'all' then return {1, end_indexed(nil)} end
if scope == 'deleted' then
  local ended = end_indexed(nil)
  upgrade_identities(user, identities)
  local had = {}
  for _, k in ipairs(redis.call('HKEYS', identities)) do
    if not string.find(k, '.', 1, true) then had[#had + 1] = k; had[#had + 1] = redis.call('HGET', identities, k) end
  end
  redis.call('DEL', index, identities)
  local found = redis.call('DEL', user)
  if found == 1 then redis.call('SET', retired, '1', 'PX', retiredMs) end
  return {found, ended, had}
end
if redis.call('EXISTS', user) == 0 then return {0, 0} end
if scope == 'disabled' then
  -- The flag and the ending in one step: no request or sign-in slips in between.
  redis.call('HSET', user, 'd', '1')
  return {1, end_indexed(nil)}
end
if scope == 'enabled' then
  redis.call('HDEL', user, 'd')
  return {1, 0}
end
return redis.error_reply('end-sessions: unknown scope')
