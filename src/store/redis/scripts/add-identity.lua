-- linkIdentity's first step: decideAddIdentity() of src/users/identity-policy.ts. The identity
-- is recorded as pending before its link is taken (so a sign-in the new link leads here finds
-- it), and counts as the account's only once confirm-identity.lua has run.
-- KEYS: user identities retired
-- ARGV: now provider subject claims[]
-- claims: as write_identity_claims (lib.lua).
-- Returns 'added' | 'provider_taken' | 'gone' | 'account_disabled'.
if redis.call('EXISTS', retired) == 1 or redis.call('EXISTS', user) == 0 then return 'gone' end
if redis.call('HEXISTS', user, 'd') == 1 then return 'account_disabled' end
local sub, pending = stored_identity(user, identities, provider)
if sub and not pending and sub ~= subject then return 'provider_taken' end
upgrade_identities(user, identities)
if sub ~= subject then
  -- None yet, or an abandoned attempt with another identity: this one, pending.
  remove_identity(user, identities, provider)
  redis.call('HSET', identities, provider, subject, provider .. '.at', now, provider .. '.p', '1')
end
write_identity_claims(identities, provider, claims)
return 'added'
