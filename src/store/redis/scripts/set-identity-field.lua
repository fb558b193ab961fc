-- Sets or clears one field of an account's identity: its sealed provider refresh token (`rt`)
-- or that its relay address stopped forwarding (`nf`), only while the account's entry of
-- `provider` names `subject` (decideConfirm() of src/users/identity-policy.ts), so a token
-- exchanged while the identity was being unlinked is never attached to what is left.
-- KEYS: user identities
-- ARGV: provider subject field value
-- value '' clears. Returns 1 when applied, 0 when the identity is not the account's.
if redis.call('EXISTS', user) == 0 or stored_identity(user, identities, provider) ~= subject then return 0 end
upgrade_identities(user, identities)
if value == '' then
  redis.call('HDEL', identities, provider .. '.' .. field)
else
  redis.call('HSET', identities, provider .. '.' .. field, value)
end
return 1
