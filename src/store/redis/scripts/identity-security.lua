-- A security event's change to an identity's state: applySecurityChange() of src/risc/policy.ts.
-- KEYS: security
-- ARGV: kind reason at keepMs
-- kind: 'revoke' | 'lock' (with reason) | 'unlock'; at: the event's iat, seconds; keepMs: the
-- TTL of an unlocked state (a locked one is kept for good).
-- Returns {changed, lock, changedAt, notBefore}: changed 'locked' | 'unlocked' | '' (the lock
-- changed), then the state after the change (lock '' when not locked).
local lk = redis.call('HGET', security, 'lk')
local ca = tonumber(redis.call('HGET', security, 'ca') or '0')
local nb = tonumber(redis.call('HGET', security, 'nb') or '0')
local t = tonumber(at)
local changed = ''
if kind == 'revoke' then
  if t > nb then nb = t end
elseif t >= ca then
  ca = t
  if kind == 'lock' then
    if reason == 'hijacking' and t > nb then nb = t end
    if not lk then changed = 'locked' end
    lk = reason
  else
    if lk then changed = 'unlocked' end
    lk = false
  end
end
redis.call('HSET', security, 'ca', int(ca), 'nb', int(nb))
if lk then
  redis.call('HSET', security, 'lk', lk)
  redis.call('PERSIST', security)
else
  redis.call('HDEL', security, 'lk')
  redis.call('PEXPIRE', security, keepMs)
end
return {changed, lk or '', ca, nb}
