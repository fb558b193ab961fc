-- unlinkIdentity, and undoing a link that was refused: decideRemoveIdentity() of
-- src/users/identity-policy.ts.
-- KEYS: user identities
-- ARGV: provider subject keepLast
-- subject: '' for whichever the account has. keepLast '1': never the last linked identity.
-- Returns {'removed', subject} | {'last_identity'} | {'not_linked'}.
if redis.call('EXISTS', user) == 0 then return {'not_linked'} end
upgrade_identities(user, identities)
local sub, pending = stored_identity(identities, provider)
if not sub or (subject ~= '' and sub ~= subject) then return {'not_linked'} end
if keepLast == '1' and not pending then
  local others = 0
  for _, k in ipairs(redis.call('HKEYS', identities)) do
    if k ~= provider and not string.find(k, '.', 1, true) and redis.call('HEXISTS', identities, k .. '.p') == 0 then others = others + 1 end
  end
  if others == 0 then return {'last_identity'} end
end
remove_identity(user, identities, provider)
return {'removed', sub}
