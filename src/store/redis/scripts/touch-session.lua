-- Records a request: touchApplies() of src/sessions/policy.ts. lastSeenAt (the latest of `c`,
-- `rt`, `ls`) only moves forward, and only on a stored session: HSET on a missing key would
-- recreate an ended session without its TTL.
-- KEYS: session
-- ARGV: now
-- Returns 1 when `ls` was written.
local s = redis.call('HMGET', session, 'rh', 'c', 'rt', 'ls')
if not s[1] then return 0 end
local c = tonumber(s[2])
local seen = math.max(c, tonumber(s[3] or c), tonumber(s[4] or c))
if tonumber(now) <= seen then return 0 end
redis.call('HSET', session, 'ls', now)
return 1
