-- Replays failed webhook deliveries of one endpoint (`npm run events -- replay`): each named
-- record still in `failed` moves back to the retries, due `now`, with the record given (its
-- attempts reset by the caller). A record another replay already moved is left alone.
-- KEYS: retry pending failed
-- ARGV: now records[]
-- records: flat eventId, record JSON pairs. Returns how many moved.
local moved = 0
for i = 1, #records, 2 do
  if redis.call('HDEL', failed, records[i]) == 1 then
    redis.call('HSET', pending, records[i], records[i + 1])
    redis.call('ZADD', retry, now, records[i])
    moved = moved + 1
  end
end
return moved
