-- Account events: the Lua mirror of src/events/policy.ts, loaded after lib.lua in front of every
-- script (src/store/redis/lua.ts). The scripts that change accounts and sessions call these in
-- the same atomic step as the change, so an event exists exactly when its change does. An event
-- is one stream entry with one field, `event`: the JSON of src/events/event.ts AccountEvent
-- (docs/events.schema.json). cjson orders keys as it likes and writes `/` as `\/`: consumers
-- parse the JSON, they do not compare its bytes.

-- A step's event writer. `key`: the stream (single node, Sentinel) or, on Redis Cluster, the
-- user's outbox, which carries the user's `{uid}` tag, so the script stays in one slot (a
-- script may not touch two slots; a relay moves the outbox to the stream: event-relay.ts).
-- `retentionMs`: the stream's age bound (EVENTS_RETENTION), 0 for an outbox (the relay empties
-- it; trimming it by age could drop events the relay has not moved yet). `base` is a random id
-- from the caller; the step's n-th event is `<base>.<n>` (eventId() of src/events/event.ts).
local function events_of(key, base, time, userId, retentionMs)
  return {key = key, base = base, n = 0, time = tonumber(time), user = userId, keep = tonumber(retentionMs)}
end

-- Appends one event's JSON to a stream; `keep` > 0 trims the stream by age.
local function append_event(key, keep, doc)
  if keep > 0 then
    -- Bounded by age, not count, so a slow consumer loses nothing younger than the retention.
    -- Entry ids are Redis' clock, so the bound is too. `~`: whole listpack nodes are dropped,
    -- so a few entries may outlive the bound a little; none goes early.
    local t = redis.call('TIME')
    local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
    redis.call('XADD', key, 'MINID', '~', int(ms - keep), '*', 'event', doc)
  else
    redis.call('XADD', key, '*', 'event', doc)
  end
end

local function emit(ev, kind, data)
  append_event(ev.key, ev.keep, cjson.encode({id = ev.base .. '.' .. ev.n, type = kind, time = ev.time, userId = ev.user, data = data}))
  ev.n = ev.n + 1
end

-- revocationEvents(): one session.revoked per ended session, by id (byte order).
local function emit_revoked(ev, reason, sids)
  table.sort(sids, before)
  for _, sid in ipairs(sids) do emit(ev, 'session.revoked', {sessionId = sid, reason = reason}) end
end

-- Hash field/value pairs → base name → value, the pieces `f`, `f1`, `f2`… joined in order
-- (src/store/redis/codec.ts stores long strings in pieces).
local function joined(flat)
  local pieces = {}
  for i = 1, #flat, 2 do
    local base, n = string.match(flat[i], '^(.-)(%d*)$')
    pieces[base] = pieces[base] or {}
    pieces[base][(tonumber(n) or 0) + 1] = flat[i + 1]
  end
  local out = {}
  for base, list in pairs(pieces) do out[base] = table.concat(list) end
  return out
end

-- profileData(): `spec` is flat triples (stored field, event field, 's' string | 'b' flag).
local function profile_data(h, spec)
  local out = {}
  for i = 1, #spec, 3 do
    local v = h[spec[i]]
    if spec[i + 2] == 'b' then v = (v == '1') elseif v == nil then v = cjson.null end
    out[spec[i + 1]] = v
  end
  return out
end

-- signInEvents(): `was` the user hash before the write (nil: a new account), `now` the user
-- hash after it (field/value pairs), `capEnded` the sessions the cap ended, oldest first.
local function sign_in_events(ev, was, now, spec, capEnded)
  local after = profile_data(joined(now), spec)
  if not was then
    emit(ev, 'user.created', {profile = after})
  else
    local prior = profile_data(joined(was), spec)
    local changes, any = {}, false
    for i = 2, #spec, 3 do
      local f = spec[i]
      if prior[f] ~= after[f] then changes[f] = after[f]; any = true end
    end
    if any then emit(ev, 'user.updated', {changes = changes}) end
  end
  for _, sid in ipairs(capEnded) do emit(ev, 'session.revoked', {sessionId = sid, reason = 'session_cap'}) end
end
