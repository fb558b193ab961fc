-- Claim-then-act for a security event: decideClaim() of src/risc/policy.ts.
-- KEYS: record
-- ARGV: lease leaseMs
-- The record is `done` once acted on, `lease:<lease>` while an instance acts (PX leaseMs).
-- Returns 'claimed' | 'done' | 'busy'.
local v = redis.call('GET', record)
if v == 'done' then return 'done' end
if v then return 'busy' end
redis.call('SET', record, 'lease:' .. lease, 'PX', leaseMs)
return 'claimed'
