-- Records a webhook attempt's outcome for one endpoint (src/events/webhooks/deliverer.ts): what
-- nextAttempt() of src/events/retry-policy.ts decided, applied atomically.
-- KEYS: retry pending failed
-- ARGV: eventId lease outcome record due
-- lease: the retry's lease this attempt held ('0' for a first attempt, which holds none): if
-- the retry's score is no longer it, another instance took the retry over and this outcome is
-- dropped. outcome: 'delivered' (forgotten), 'retry' (record kept, due at `due`), 'failed'
-- (record moved to `failed`, kept until replayed).
-- Returns 1 when applied, 0 when the lease was lost.
if lease ~= '0' and tonumber(redis.call('ZSCORE', retry, eventId)) ~= tonumber(lease) then return 0 end
if outcome == 'delivered' then
  redis.call('ZREM', retry, eventId)
  redis.call('HDEL', pending, eventId)
elseif outcome == 'retry' then
  redis.call('HSET', pending, eventId, record)
  redis.call('ZADD', retry, due, eventId)
elseif outcome == 'failed' then
  redis.call('HSET', failed, eventId, record)
  redis.call('HDEL', pending, eventId)
  redis.call('ZREM', retry, eventId)
else
  return redis.error_reply('webhook-settle: unknown outcome')
end
return 1
