import type { RedisClient } from './client.js';

/**
 * Lua scripts, registered with `defineCommand` (EVALSHA, falling back to EVAL on NOSCRIPT).
 * Every key a script touches is passed in KEYS, and all keys of one call share the `{uid}`
 * hash tag, so each script is valid on Redis Cluster. A script runs atomically: no other
 * command interleaves, which is what makes compare-and-rotate race-free across instances.
 *
 * Times are passed as integer strings and compared with tonumber (Lua numbers are doubles,
 * exact for epoch milliseconds).
 */

/** Compare-and-delete: release a lock only while it still holds our token (it may have expired and been taken by someone else). */
const RELEASE_LOCK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`;

/** Shared tail: drop index entries whose session ended (score <= now), then let the index live as long as its latest session. */
const PRUNE_INDEX = `
local function pruneIndex(key, now)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  local top = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  if top[2] then redis.call('PEXPIREAT', key, top[2]) end
end
`;

/**
 * Shared: end sessions listed in a user's index. A user's session and grace keys are named
 * from prefixes passed in ARGV (`<p>sess:{uid}:`, `<p>grace:{uid}:`) rather than declared in
 * KEYS, because the set of sessions is only known inside the script, where reading it and
 * deleting it is atomic (a sign-in cannot slip a session in between). They carry the same
 * `{uid}` hash tag as the declared keys, so they live in the same Cluster slot and node,
 * which is what Redis Cluster requires of a script's keys.
 * endSession returns 1 when the session key still existed (0 for an entry whose session
 * already expired), so callers can report how many sessions really ended.
 */
const END_SESSIONS = `
local function endSession(index, sessPrefix, gracePrefix, sid)
  local n = redis.call('DEL', sessPrefix .. sid)
  redis.call('DEL', gracePrefix .. sid)
  redis.call('ZREM', index, sid)
  return n
end
local function endAll(index, sessPrefix, gracePrefix, keep)
  local ended = 0
  for _, sid in ipairs(redis.call('ZRANGE', index, 0, -1)) do
    if sid ~= keep then ended = ended + endSession(index, sessPrefix, gracePrefix, sid) end
  end
  return ended
end
`;

/**
 * KEYS: user, session, index.
 * ARGV: now, sessionEnd, sid, maxSessions, sessPrefix, gracePrefix, nProfile, <nProfile
 * field/value pairs>, nClear, <nClear base field names>, <session field/value pairs>.
 * A disabled user ('d' present) is returned untouched: no profile update, no session.
 * Otherwise creates or refreshes the user: on refresh every piece of every profile field
 * (`p`, `p1`, ...) is removed before the new ones are written, so a claim that became null or
 * shorter leaves nothing behind, while createdAt, disabled and any other field are kept. Then
 * writes the session with its end as PEXPIREAT and indexes it; with maxSessions > 0 the
 * oldest other sessions (by creation time, then id) end until maxSessions remain.
 * Returns {isNew, HGETALL user}.
 */
const SIGN_IN =
  PRUNE_INDEX +
  END_SESSIONS +
  `
local now = ARGV[1]
local isNew = redis.call('EXISTS', KEYS[1]) == 0
if not isNew and redis.call('HEXISTS', KEYS[1], 'd') == 1 then
  return {0, redis.call('HGETALL', KEYS[1])}
end
local maxSessions = tonumber(ARGV[4])
local sessPrefix = ARGV[5]
local gracePrefix = ARGV[6]
local i = 7
local nSet = tonumber(ARGV[i]); i = i + 1
local user = {}
for j = 1, 2 * nSet do user[j] = ARGV[i]; i = i + 1 end
local nClear = tonumber(ARGV[i]); i = i + 1
local clear = {}
for j = 1, nClear do clear[ARGV[i]] = true; i = i + 1 end
local sess = {}
while i <= #ARGV do sess[#sess + 1] = ARGV[i]; i = i + 1 end
if isNew then
  user[#user + 1] = 'c'; user[#user + 1] = now
else
  local stale = {}
  for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
    if clear[(string.gsub(f, '%d+$', ''))] then stale[#stale + 1] = f end
  end
  if #stale > 0 then redis.call('HDEL', KEYS[1], unpack(stale)) end
end
user[#user + 1] = 'ls'; user[#user + 1] = now
redis.call('HSET', KEYS[1], unpack(user))
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[2], unpack(sess))
redis.call('PEXPIREAT', KEYS[2], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
if maxSessions > 0 and redis.call('ZCARD', KEYS[3]) > maxSessions then
  local others = {}
  for _, sid in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do
    if sid ~= ARGV[3] then
      local c = redis.call('HGET', sessPrefix .. sid, 'c')
      if c then others[#others + 1] = {tonumber(c), sid} else redis.call('ZREM', KEYS[3], sid) end
    end
  end
  table.sort(others, function(a, b)
    if a[1] ~= b[1] then return a[1] < b[1] end
    return a[2] < b[2]
  end)
  for j = 1, #others - (maxSessions - 1) do endSession(KEYS[3], sessPrefix, gracePrefix, others[j][2]) end
end
pruneIndex(KEYS[3], now)
return {isNew and 1 or 0, redis.call('HGETALL', KEYS[1])}
`;

/**
 * KEYS: index. ARGV: sessPrefix, gracePrefix, keepSid ('' = none).
 * Ends every session of the user but keepSid. Returns how many ended.
 */
const REVOKE_ALL =
  END_SESSIONS +
  `
return endAll(KEYS[1], ARGV[1], ARGV[2], ARGV[3])
`;

/**
 * KEYS: user, index. ARGV: '1' (disable) | '0' (enable), sessPrefix, gracePrefix.
 * Disabling sets 'd' and ends every session in the same step, so no request can slip
 * through between the two. Returns {found, sessionsEnded}.
 */
const SET_DISABLED =
  END_SESSIONS +
  `
if redis.call('EXISTS', KEYS[1]) == 0 then return {0, 0} end
if ARGV[1] == '1' then
  redis.call('HSET', KEYS[1], 'd', '1')
  return {1, endAll(KEYS[2], ARGV[2], ARGV[3], '')}
end
redis.call('HDEL', KEYS[1], 'd')
return {1, 0}
`;

/**
 * KEYS: user, index. ARGV: sessPrefix, gracePrefix.
 * Deletes every session, grace box, the index and the user record. Returns 1 when the user existed.
 */
const DELETE_USER =
  END_SESSIONS +
  `
endAll(KEYS[2], ARGV[1], ARGV[2], '')
redis.call('DEL', KEYS[2])
return redis.call('DEL', KEYS[1])
`;

/**
 * KEYS: session. ARGV: now.
 * lastSeenAt ('ls') moves forward only, and only on a live session: HSET on a missing key
 * would recreate a revoked session without its TTL.
 */
const TOUCH = `
local s = redis.call('HMGET', KEYS[1], 'rh', 'ls')
if not s[1] then return 0 end
if s[2] and tonumber(s[2]) >= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'ls', ARGV[1])
return 1
`;

/**
 * KEYS: session, grace, index.
 * ARGV: presentedHash, nextHash, graceBox, now, graceMs, nextRefreshExpiresAt, sid.
 * Returns {'rotated', session} | {'grace', session, box} | {'reused'} | {'mismatch'} | {'not_found'}.
 *
 * A hash that is neither the current nor the previous one changes nothing: otherwise anyone
 * guessing tokens could revoke other people's sessions. Plain string equality is fine here:
 * the values compared are hashes of the token, so timing reveals nothing usable about it.
 */
const ROTATE =
  PRUNE_INDEX +
  `
local s = redis.call('HMGET', KEYS[1], 'rh', 'ph', 'rt', 'e', 'r')
if not s[1] then return {'not_found'} end
local now = tonumber(ARGV[4])
local e = tonumber(s[4])
if e <= now or tonumber(s[5]) <= now then return {'not_found'} end
if ARGV[1] == s[1] then
  local r = ARGV[6]
  if e < tonumber(r) then r = s[4] end
  -- rt doubles as lastSeenAt (see codec.ts).
  redis.call('HSET', KEYS[1], 'ph', s[1], 'rh', ARGV[2], 'rt', ARGV[4], 'r', r)
  redis.call('PEXPIREAT', KEYS[1], r)
  if tonumber(ARGV[5]) > 0 then
    redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[5])
  else
    redis.call('DEL', KEYS[2])
  end
  redis.call('ZADD', KEYS[3], r, ARGV[7])
  pruneIndex(KEYS[3], ARGV[4])
  return {'rotated', redis.call('HGETALL', KEYS[1])}
end
if s[2] and ARGV[1] == s[2] then
  if s[3] and now - tonumber(s[3]) <= tonumber(ARGV[5]) then
    local box = redis.call('GET', KEYS[2])
    if box then return {'grace', redis.call('HGETALL', KEYS[1]), box} end
  end
  -- The previous token came back after its grace period: it was stolen or replayed. Revoke.
  redis.call('DEL', KEYS[1], KEYS[2])
  redis.call('ZREM', KEYS[3], ARGV[7])
  return {'reused'}
end
return {'mismatch'}
`;

/**
 * KEYS: the rate-limit key. ARGV: now, intervalMs, capacityMs, consume ('1' | '0').
 * GCRA, exactly as src/store/gcra.ts describes and `gcra()` computes: one stored number (the
 * theoretical arrival time), one round trip, atomic. Returns {allowed 0|1, remaining, retryAfterMs}.
 * `%.0f` keeps the stored time an exact integer (tostring would round past 14 digits).
 */
const RATE_LIMIT = `
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local capacity = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat or tat < now then tat = now end
local debt = tat + interval - now
if debt > capacity then return {0, 0, debt - capacity} end
local used = tat - now
if ARGV[4] == '1' then
  redis.call('SET', KEYS[1], string.format('%.0f', tat + interval), 'PX', string.format('%.0f', debt))
  used = debt
end
return {1, math.floor((capacity - used) / interval), 0}
`;

export const SCRIPTS = {
  agReleaseLock: { numberOfKeys: 1, lua: RELEASE_LOCK },
  agSignIn: { numberOfKeys: 3, lua: SIGN_IN },
  agRotate: { numberOfKeys: 3, lua: ROTATE },
  agRateLimit: { numberOfKeys: 1, lua: RATE_LIMIT },
  agRevokeAll: { numberOfKeys: 1, lua: REVOKE_ALL },
  agSetDisabled: { numberOfKeys: 2, lua: SET_DISABLED },
  agDeleteUser: { numberOfKeys: 2, lua: DELETE_USER },
  agTouch: { numberOfKeys: 1, lua: TOUCH },
  /** Compare-and-delete, as for locks: unlink an identity only while it still names this user. */
  agDeleteIfEquals: { numberOfKeys: 1, lua: RELEASE_LOCK },
} as const;

export interface ScriptCommands {
  agReleaseLock(key: string, token: string): Promise<number>;
  agSignIn(userKey: string, sessionKey: string, indexKey: string, ...args: string[]): Promise<[number, string[]]>;
  agRotate(
    sessionKey: string,
    graceKey: string,
    indexKey: string,
    presentedHash: string,
    nextHash: string,
    graceBox: string,
    now: string,
    graceMs: string,
    nextRefreshExpiresAt: string,
    sessionId: string,
  ): Promise<[string, string[]?, string?]>;
  agRateLimit(key: string, now: string, intervalMs: string, capacityMs: string, consume: '1' | '0'): Promise<[number, number, number]>;
  agRevokeAll(indexKey: string, sessionPrefix: string, gracePrefix: string, keepSessionId: string): Promise<number>;
  agSetDisabled(userKey: string, indexKey: string, flag: '1' | '0', sessionPrefix: string, gracePrefix: string): Promise<[number, number]>;
  agDeleteUser(userKey: string, indexKey: string, sessionPrefix: string, gracePrefix: string): Promise<number>;
  agTouch(sessionKey: string, now: string): Promise<number>;
  agDeleteIfEquals(key: string, value: string): Promise<number>;
}

export type ScriptedRedis = RedisClient & ScriptCommands;

/** Registers the scripts on the client (idempotent) and returns it with the script methods typed. */
export function withScripts(client: RedisClient): ScriptedRedis {
  for (const [name, def] of Object.entries(SCRIPTS)) {
    if (typeof (client as unknown as Record<string, unknown>)[name] !== 'function') client.defineCommand(name, def);
  }
  return client as ScriptedRedis;
}
