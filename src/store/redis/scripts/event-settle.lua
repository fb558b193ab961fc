-- Settles a claim: decideSettle() of src/risc/policy.ts; only while this lease holds the record.
-- KEYS: record
-- ARGV: lease outcome keepMs
-- outcome: 'done' (kept keepMs: later deliveries are duplicates) | 'release' (removed: a retry acts).
-- Returns 1 when the lease held the record, else 0 (nothing changes).
if redis.call('GET', record) ~= 'lease:' .. lease then return 0 end
if outcome == 'done' then redis.call('SET', record, 'done', 'PX', keepMs) else redis.call('DEL', record) end
return 1
