/**
 * The Redis key layout, written once. Every key starts with a configurable prefix so several
 * deployments (or test runs) can share one Redis.
 *
 * Per-user keys carry the user id as a Cluster hash tag, `{<uid>}`: Redis Cluster hashes only
 * the part between the first `{` and the next `}`, so a user's record, sessions, session
 * index and grace boxes all live in one slot. That is what lets sign-in, rotation and
 * revocation run as one MULTI/EXEC or Lua script (multi-key commands must not cross slots).
 *
 *   P user:{uid}            hash    user record (durable); field `sb` holds its sign-in budget
 *   P ids:{uid}             hash    the account's identities (durable): `<provider>` → sub, and
 *                                   `<provider>.<field>` (at: linked at, em, ev, pe, rs: its
 *                                   claims, p: pending, nf: e-mail forwarding off, rt: the
 *                                   provider's refresh token, sealed); absent in records written before
 *                                   accounts had several identities (their Google sub is the
 *                                   user's field `s`, kept for those versions)
 *   P revoke:{uid}          hash    provider tokens waiting to be revoked (durable until the
 *                                   revocation settles): `<eventId>:<provider>` → provider, sub
 *                                   and the sealed token, moved there from `ids:{uid}` (field
 *                                   `<provider>.rt`) by the step that unlinks the identity or
 *                                   deletes the account, which appends that event
 *                                   (src/identity/apple/revoker.ts)
 *   P gone:{uid}            string  a retired account id: no sign-in creates an account under it
 *                                   (PX = RETIRED_ID_TTL_MS, src/users/identity-policy.ts)
 *   P idn:<provider>:<sub>  string  → uid (durable): which account the identity signs in to
 *   {P idn:<provider>:<sub>}:sec  hash  the identity's security state (src/risc/policy.ts): lk
 *                                   lock reason, ca its change time, nb tokens refused before
 *                                   (durable while locked, else PX 30 days). The hash tag is
 *                                   the link's whole name, so it shares the link's slot
 *                                   (Cluster hashes a key without a tag whole): sign-in reads
 *                                   it in the script that takes the link
 *   P secev:{uid}           list    the account's recorded security events, newest first, the
 *                                   last 50 (PX 180 days from the last one)
 *   P risc:jti:<hash>       string  a Google security event's delivery: `lease:<token>` while
 *                                   an instance acts on it (PX 30 s), then `done` (PX 30 days)
 *   P sess:{uid}:<sid>      hash    session (PEXPIREAT = min(refreshExpiresAt, expiresAt));
 *                                   field `rb` holds its refresh budget
 *   P sessidx:{uid}         zset    sid → session end; key TTL = latest end
 *   P grace:{uid}:<sid>     string  sealed successor refresh token (PX = grace period)
 *   P jwks:<provider>       string  an identity provider's key set JSON (PX = ttl given to
 *                                   put); `jwks:google` for Google
 *   P keys:signing          hash    kid → signing key JSON (durable)
 *   P lock:<name>           string  lock token (SET NX PX)
 *   P rl:<kind>:<subject>   string  rate-limit TAT, epoch ms (PX ≤ the limit's window), for the
 *                                   per-address limits; the subject is a hash, never an address
 *                                   (per-account and per-session budgets: `sb`, `rb` above)
 *   P nonce:<hash>          string  server-issued sign-in nonce → its expiry (PX = 10 min)
 *   P idt:<hash>            string  an ID token already used to sign in (PX = until it expires)
 *   P active:{sessions}:<n> HLL     session ids seen in time bucket n (PEXPIREAT; one tag so
 *                                   one PFCOUNT can merge the buckets on Cluster)
 *   P events                stream  the account events (src/events/event.ts): one field `event`,
 *                                   the event's JSON; trimmed by age (XADD MINID, EVENTS_RETENTION)
 *   P outbox:{uid}          stream  Cluster only: the user's events on their way to `events`
 *                                   (src/store/redis/event-relay.ts); empty most of the time
 *   P relay:{uid}           string  the relay's lock on that outbox (PX)
 *   P wh:{<ep>}:retry       zset    webhooks (src/events/webhooks): event id → next attempt
 *   P wh:{<ep>}:pending     hash    event id → the delivery's record (event, attempts, last error)
 *   P wh:{<ep>}:failed      hash    event id → the record of a delivery that gave up (durable,
 *                                   until replayed); <ep> is the endpoint's id, so one endpoint's
 *                                   keys share a slot
 */
export const DEFAULT_KEY_PREFIX = 'ag:';

export interface KeyLayout {
  readonly prefix: string;
  user(userId: string): string;
  /** The account's own record of its identities (same slot as the user). */
  accountIdentities(userId: string): string;
  retired(userId: string): string;
  /** Provider tokens waiting to be revoked (same slot as the user). */
  revocations(userId: string): string;
  /** The identity's link to its account (its own slot). */
  identity(provider: string, subject: string): string;
  /** The identity's security state, in its link's slot. */
  identitySecurity(provider: string, subject: string): string;
  securityEvents(userId: string): string;
  riscEvent(hash: string): string;
  session(userId: string, sessionId: string): string;
  sessionIndex(userId: string): string;
  grace(userId: string, sessionId: string): string;
  keySet(provider: string): string;
  signingKeys(): string;
  lock(name: string): string;
  rateLimit(kind: string, subject: string): string;
  nonce(nonceHash: string): string;
  usedIdToken(tokenHash: string): string;
  activity(bucket: number): string;
  events(): string;
  outbox(userId: string): string;
  relayLock(userId: string): string;
  webhook(endpointId: string, part: 'retry' | 'pending' | 'failed'): string;
}

/**
 * A user id must not contain braces: they would move the hash tag boundary, and an id like
 * `a}x` could make one user's keys hash with another's tag. Ids are generated by us, so this
 * is a programming error, not user input.
 */
function tag(userId: string): string {
  if (userId.length === 0 || /[{}]/.test(userId)) throw new TypeError('invalid user id for a Redis key');
  return `{${userId}}`;
}

/**
 * A key in the same Cluster slot as `key`: `key` with `:<suffix>` when `key` carries a hash tag
 * (the tag is kept), else `{key}:<suffix>` (Cluster hashes an untagged key whole, and a tag's
 * content the same way). A key with a `}` but no tag cannot be wrapped safely: a programming
 * error (provider subjects are verified token claims; Google's are digits).
 */
export function slotMate(key: string, suffix: string): string {
  const open = key.indexOf('{');
  const close = open >= 0 ? key.indexOf('}', open + 1) : -1;
  if (open >= 0 && close > open + 1) return `${key}:${suffix}`;
  if (key.includes('}') || key.includes('{')) throw new TypeError('cannot place a key in the slot of this key');
  return `{${key}}:${suffix}`;
}

/** Provider names are ours (`google`, `apple`); anything else is a programming error (both stores check). */
export function providerName(provider: string): string {
  if (!/^[a-z0-9-]{1,32}$/.test(provider)) throw new TypeError('invalid provider name for a Redis key');
  return provider;
}

export function keyLayout(prefix: string = DEFAULT_KEY_PREFIX): KeyLayout {
  const p = prefix;
  return Object.freeze({
    prefix: p,
    user: (userId: string) => `${p}user:${tag(userId)}`,
    accountIdentities: (userId: string) => `${p}ids:${tag(userId)}`,
    retired: (userId: string) => `${p}gone:${tag(userId)}`,
    revocations: (userId: string) => `${p}revoke:${tag(userId)}`,
    identity: (provider: string, subject: string) => `${p}idn:${providerName(provider)}:${subject}`,
    identitySecurity: (provider: string, subject: string) => slotMate(`${p}idn:${providerName(provider)}:${subject}`, 'sec'),
    securityEvents: (userId: string) => `${p}secev:${tag(userId)}`,
    riscEvent: (hash: string) => `${p}risc:jti:${hash}`,
    session: (userId: string, sessionId: string) => `${p}sess:${tag(userId)}:${sessionId}`,
    sessionIndex: (userId: string) => `${p}sessidx:${tag(userId)}`,
    grace: (userId: string, sessionId: string) => `${p}grace:${tag(userId)}:${sessionId}`,
    keySet: (provider: string) => `${p}jwks:${providerName(provider)}`,
    signingKeys: () => `${p}keys:signing`,
    lock: (name: string) => `${p}lock:${name}`,
    rateLimit: (kind: string, subject: string) => `${p}rl:${kind}:${subject}`,
    nonce: (nonceHash: string) => `${p}nonce:${nonceHash}`,
    usedIdToken: (tokenHash: string) => `${p}idt:${tokenHash}`,
    activity: (bucket: number) => `${p}active:{sessions}:${bucket}`,
    events: () => `${p}events`,
    outbox: (userId: string) => `${p}outbox:${tag(userId)}`,
    relayLock: (userId: string) => `${p}relay:${tag(userId)}`,
    webhook: (endpointId: string, part: 'retry' | 'pending' | 'failed') => `${p}wh:${tag(endpointId)}:${part}`,
  });
}
