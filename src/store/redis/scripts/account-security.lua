-- A security event's action on the account holding the identity, in one step:
-- decideAccountLock() of src/risc/policy.ts and accountSecurityEvents() of src/events/policy.ts.
-- Sessions end through end_session and emit_revoked (lib.lua, lib-events.lua), as
-- end-sessions.lua's 'all' scope does, with the reason `provider_security_event`.
-- KEYS: user index identities record events
-- ARGV: provider subject endSessions lock entry keep recordTtlMs now sessionPrefix gracePrefix userId eventId eventsRetentionMs
-- lock: the identity's lock after the event ('hijacking' | 'disabled' | 'none'), or '' when the
-- event does not touch it; the account keeps it as the marker `<provider>.lk` in its identities
-- hash (removed with the identity: remove_identity in lib.lua). entry: the recorded event's
-- JSON, pushed first in `record`, which keeps the last `keep` (PX recordTtlMs).
-- Returns {found 0|1, sessions ended, events appended}: found is 0, and nothing is written,
-- when the account does not exist or does not list this identity as its own.
if redis.call('EXISTS', user) == 0 or stored_identity(user, identities, provider) ~= subject then return {0, 0, 0} end
-- Before any write to the identities hash: an account of the earlier layout gets its hash first.
upgrade_identities(user, identities)
local ev = events_of(events, eventId, now, userId, eventsRetentionMs)
if lock ~= '' then
  local marker = provider .. '.lk'
  local had = redis.call('HGET', identities, marker)
  if lock == 'none' then
    if had then
      redis.call('HDEL', identities, marker)
      emit(ev, 'identity.unlocked', {provider = provider})
    end
  elseif not had then
    redis.call('HSET', identities, marker, lock)
    emit(ev, 'identity.locked', {provider = provider, reason = lock})
  end
end
local ended = {}
if endSessions == '1' then
  for _, sid in ipairs(redis.call('ZRANGE', index, 0, -1)) do
    if end_session(index, sessionPrefix, gracePrefix, sid) == 1 then ended[#ended + 1] = sid end
  end
  emit_revoked(ev, 'provider_security_event', ended)
end
redis.call('LPUSH', record, entry)
redis.call('LTRIM', record, 0, tonumber(keep) - 1)
redis.call('PEXPIRE', record, recordTtlMs)
return {1, #ended, ev.n}
