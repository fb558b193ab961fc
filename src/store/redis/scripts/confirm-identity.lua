-- linkIdentity's last step, once the identity's link names this account: decideConfirm() of
-- src/users/identity-policy.ts.
-- KEYS: user identities
-- ARGV: provider subject
-- Returns 1 when the identity (pending or linked, with this subject) is now linked, else 0.
if redis.call('EXISTS', user) == 0 or stored_identity(user, identities, provider) ~= subject then return 0 end
upgrade_identities(user, identities)
redis.call('HDEL', identities, provider .. '.p')
-- Versions before several identities read the Google sub from `s` (a Google sub is 21 digits:
-- one piece).
if provider == 'google' then redis.call('HSET', user, 's', subject) end
return 1
