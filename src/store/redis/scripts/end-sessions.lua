-- Ends sessions and changes the account, in one step: sessionsEnding() and
-- accountRevocation() of src/sessions/policy.ts, with the events of revocationEvents() and
-- accountStateEvents() of src/events/policy.ts.
-- KEYS: user index identities retired events tokens
-- ARGV: scope sessionId sessionPrefix gracePrefix reason now userId eventId eventsRetentionMs retiredMs
-- scope: 'session' (sessionId only), 'others' (every indexed session but sessionId), 'all',
-- and the account changes 'disabled' (flag set, all end), 'enabled' (flag cleared, none end),
-- 'deleted' (all end, then the index, the identities and the user record go, and the id of an
-- account that existed is retired for retiredMs, as retire-account.lua; its identities' sealed
-- provider tokens are handed over for revocation under `user.deleted`). reason: the
-- revocations' (`sign_out`, `revoked`, …), for the session scopes.
-- Returns {found, ended, events appended} and, for 'deleted', the identities the account had
-- as provider/subject pairs: found is 0 for an account change on an unknown user (nothing is
-- created); ended counts the sessions whose record was still stored.
local ev = events_of(events, eventId, now, userId, eventsRetentionMs)

-- The ids of the indexed sessions (but `keep`) whose record was still stored, now ended.
local function end_indexed(keep)
  local ended = {}
  for _, sid in ipairs(redis.call('ZRANGE', index, 0, -1)) do
    if sid ~= keep and end_session(index, sessionPrefix, gracePrefix, sid) == 1 then ended[#ended + 1] = sid end
  end
  return ended
end

local function revoked(r, ended)
  emit_revoked(ev, r, ended)
  return {1, #ended, ev.n}
end

if scope == 'session' then
  return revoked(reason, end_session(index, sessionPrefix, gracePrefix, sessionId) == 1 and {sessionId} or {})
end
if scope == 'others' then return revoked(reason, end_indexed(sessionId)) end
if scope == 'all' then return revoked(reason, end_indexed(nil)) end
if scope == 'deleted' then
  local found = redis.call('EXISTS', user)
  local deletedId = ev.base .. '.' .. ev.n
  if found == 1 then emit(ev, 'user.deleted', {}) end
  local ended = end_indexed(nil)
  emit_revoked(ev, 'account_deleted', ended)
  local had = {}
  if found == 1 then
    upgrade_identities(user, identities)
    for _, k in ipairs(redis.call('HKEYS', identities)) do
      if not string.find(k, '.', 1, true) then
        local sub = redis.call('HGET', identities, k)
        had[#had + 1] = k; had[#had + 1] = sub
        hand_over_token(identities, tokens, k, sub, deletedId)
      end
    end
    redis.call('SET', retired, '1', 'PX', retiredMs)
  end
  redis.call('DEL', index, user, identities)
  return {found, #ended, ev.n, had}
end
if redis.call('EXISTS', user) == 0 then return {0, 0, 0} end
if scope == 'disabled' then
  -- The flag and the ending in one step: no request or sign-in slips in between.
  if redis.call('HEXISTS', user, 'd') == 0 then emit(ev, 'user.disabled', {}) end
  redis.call('HSET', user, 'd', '1')
  return revoked('account_disabled', end_indexed(nil))
end
if scope == 'enabled' then
  if redis.call('HDEL', user, 'd') == 1 then emit(ev, 'user.enabled', {}) end
  return {1, 0, ev.n}
end
return redis.error_reply('end-sessions: unknown scope')
