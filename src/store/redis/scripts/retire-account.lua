-- Retires an account id that has no account (a dangling identity link's, taken over by
-- linkIdentity): write-session.lua refuses to create an account under it while `retired` lives.
-- KEYS: user retired
-- ARGV: ttlMs
-- Returns 1 when retired, 0 (nothing changes) when the account exists.
if redis.call('EXISTS', user) == 1 then return 0 end
redis.call('SET', retired, '1', 'PX', ttlMs)
return 1
