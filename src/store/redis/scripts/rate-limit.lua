-- GCRA over one key, exactly gcra() of src/store/gcra.ts: one stored number (the theoretical
-- arrival time), one round trip, atomic.
-- KEYS: limit
-- ARGV: now intervalMs capacityMs consume
-- Returns {allowed 0|1, remaining, retryAfterMs}.
local allowed, remaining, retryAfter, tat, ttl =
  gcra(tonumber(redis.call('GET', limit)), tonumber(now), tonumber(intervalMs), tonumber(capacityMs), consume == '1')
if tat then redis.call('SET', limit, int(tat), 'PX', int(ttl)) end
return {allowed and 1 or 0, remaining, retryAfter}
