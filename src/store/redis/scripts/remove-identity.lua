-- unlinkIdentity, and undoing a link that was refused: decideRemoveIdentity() of
-- src/users/identity-policy.ts, with identityEvents() of src/events/policy.ts.
-- KEYS: user identities events tokens
-- ARGV: provider subject keepLast now userId eventId eventsRetentionMs
-- subject: '' for whichever the account has. keepLast '1': never the last linked identity.
-- A linked identity goes with its `identity.unlinked` event, and its sealed provider token (if
-- any) is handed over for revocation under that event (hand_over_token in lib.lua).
-- Returns {'removed', subject, events appended} | {'last_identity'} | {'not_linked'}.
if redis.call('EXISTS', user) == 0 then return {'not_linked'} end
local sub, pending = stored_identity(user, identities, provider)
if not sub or (subject ~= '' and sub ~= subject) then return {'not_linked'} end
if keepLast == '1' and not pending then
  -- (An account of the earlier layout has no identities hash: its one identity is this one.)
  local others = 0
  for _, k in ipairs(redis.call('HKEYS', identities)) do
    if k ~= provider and not string.find(k, '.', 1, true) and redis.call('HEXISTS', identities, k .. '.p') == 0 then others = others + 1 end
  end
  if others == 0 then return {'last_identity'} end
end
upgrade_identities(user, identities)
local ev = events_of(events, eventId, now, userId, eventsRetentionMs)
if not pending then
  hand_over_token(identities, tokens, provider, sub, ev.base .. '.' .. ev.n)
  emit(ev, 'identity.unlinked', {provider = provider})
end
remove_identity(user, identities, provider)
return {'removed', sub, ev.n}
