-- Sets a key only while it holds the expected value: an identity link taken over from a
-- retired account id (never from a live account, nor from a link that changed meanwhile).
-- KEYS: key
-- ARGV: expected value
-- Returns 1 when set, 0 otherwise.
if redis.call('GET', key) == expected then
  redis.call('SET', key, value)
  return 1
end
return 0
