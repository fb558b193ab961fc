-- Sign-in's link (src/sessions/sign-in.ts) with the identity's security state read in the same
-- step: decideIdentitySignIn() of src/risc/policy.ts, then the link as `SET NX GET`. The state
-- key is in the link's slot (src/store/keys.ts identitySecurity), so this is one command, as
-- the plain link was, and a locked identity never takes a link (creates no account).
-- KEYS: link security
-- ARGV: candidate issuedAt
-- Returns {'locked'} | {'revoked'} | {'linked', userId, created 0|1}.
-- Both fields in one read: most identities have no state at all.
local state = redis.call('HMGET', security, 'lk', 'nb')
if state[1] then return {'locked'} end
local nb = state[2]
if nb and tonumber(issuedAt) < tonumber(nb) then return {'revoked'} end
local previous = redis.call('GET', link)
if previous then return {'linked', previous, 0} end
redis.call('SET', link, candidate)
return {'linked', candidate, 1}
