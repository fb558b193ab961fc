-- Takes the webhook retries that are due, for one endpoint (src/events/webhooks/deliverer.ts):
-- each is leased to the caller until `leaseUntil` (its score becomes that), so no other
-- instance takes it meanwhile, and an instance that dies mid-attempt loses it when the lease
-- runs out. Atomic: of two instances asking at once, each retry goes to one.
-- KEYS: retry pending
-- ARGV: now leaseUntil count
-- Returns flat {eventId, record JSON, …}.
local out = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', retry, '-inf', now, 'LIMIT', 0, tonumber(count))) do
  local record = redis.call('HGET', pending, id)
  if record then
    redis.call('ZADD', retry, leaseUntil, id)
    out[#out + 1] = id
    out[#out + 1] = record
  else
    redis.call('ZREM', retry, id)
  end
end
return out
