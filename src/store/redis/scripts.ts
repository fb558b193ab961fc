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
 * KEYS: user, session, index.
 * ARGV: now, sessionEnd, sid, nProfile, <nProfile field/value pairs>, nClear, <nClear base
 * field names>, <session field/value pairs>.
 * Creates or refreshes the user: on refresh every piece of every profile field (`p`, `p1`,
 * ...) is removed before the new ones are written, so a claim that became null or shorter
 * leaves nothing behind, while createdAt, disabled and any other field are kept. Then writes
 * the session with its end as PEXPIREAT and indexes it. Returns {isNew, HGETALL user}.
 */
const SIGN_IN =
  PRUNE_INDEX +
  `
local now = ARGV[1]
local isNew = redis.call('EXISTS', KEYS[1]) == 0
local i = 4
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
pruneIndex(KEYS[3], now)
return {isNew and 1 or 0, redis.call('HGETALL', KEYS[1])}
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

export const SCRIPTS = {
  agReleaseLock: { numberOfKeys: 1, lua: RELEASE_LOCK },
  agSignIn: { numberOfKeys: 3, lua: SIGN_IN },
  agRotate: { numberOfKeys: 3, lua: ROTATE },
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
}

export type ScriptedRedis = RedisClient & ScriptCommands;

/** Registers the scripts on the client (idempotent) and returns it with the script methods typed. */
export function withScripts(client: RedisClient): ScriptedRedis {
  for (const [name, def] of Object.entries(SCRIPTS)) {
    if (typeof (client as unknown as Record<string, unknown>)[name] !== 'function') client.defineCommand(name, def);
  }
  return client as ScriptedRedis;
}
