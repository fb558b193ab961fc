-- The relay's write (src/store/redis/event-relay.ts): events moved from a user's outbox to the
-- stream, in their order, trimmed by age like every append (append_event in lib-events.lua).
-- KEYS: events
-- ARGV: retentionMs docs[]
-- Returns how many were appended.
for _, doc in ipairs(docs) do append_event(events, tonumber(retentionMs), doc) end
return #docs
