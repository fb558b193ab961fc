-- The relay's acknowledgement (src/store/redis/event-relay.ts), atomic: the moved entries leave
-- the outbox; then, while this relay still holds the lock, either the outbox is empty (the lock
-- and the empty stream go: an empty stream key would otherwise stay forever) or the lock is
-- extended and the relay goes on. A writer appends to the outbox before it tries the lock, so
-- its events are either seen here (XLEN > 0: the holder goes on) or appended after the lock
-- went (the writer takes it): none is left behind by a live relay.
-- KEYS: outbox lock
-- ARGV: token lockMs ids[]
-- Returns -1 when the lock is no longer ours (it expired: another relay goes on), 0 when the
-- outbox is empty and the lock released, else how many entries are left.
if #ids > 0 then redis.call('XDEL', outbox, unpack(ids)) end
if redis.call('GET', lock) ~= token then return -1 end
local left = redis.call('XLEN', outbox)
if left == 0 then
  redis.call('DEL', lock, outbox)
  return 0
end
redis.call('PEXPIRE', lock, lockMs)
return left
