-- Deletes a key only while it holds the expected value: a lock only while it is still ours (it
-- may have expired and been taken by another instance), an identity link only while it still
-- names the account being deleted (never a newer account's link).
-- KEYS: key
-- ARGV: expected
-- Returns 1 when deleted, 0 otherwise.
if redis.call('GET', key) == expected then
  return redis.call('DEL', key)
end
return 0
