import type { AccountStore, GoogleProfile, NewSession, SignInLimits, UserRecord } from '../types.js';
import type { KeyLayout } from '../keys.js';
import type { ScriptedRedis } from './scripts.js';
import { PROFILE_FIELDS, assertTime, decodeUser, encodeProfile, encodeSession, pairs } from './codec.js';
import type { HashReadBatcher } from './read-batch.js';

export class RedisAccountStore implements AccountStore {
  constructor(
    private readonly client: ScriptedRedis,
    private readonly keys: KeyLayout,
    /** Single node / Sentinel: reads join the turn's shared pipeline (src/store/redis/read-batch.ts); null on Cluster. */
    private readonly batch: HashReadBatcher | null,
  ) {}

  /**
   * One command, `SET key candidate NX GET` (Redis ≥ 7.0): sets the link when absent and
   * returns the previous value otherwise, so concurrent first sign-ins agree on one id with
   * no read-then-write race. The identity key has no `{uid}` tag; it is a single-key command.
   */
  async linkIdentity(provider: 'google', subject: string, candidateId: string): Promise<string> {
    const previous = await this.client.set(this.keys.identity(provider, subject), candidateId, 'NX', 'GET');
    return previous ?? candidateId;
  }

  /** One Lua script over user, session and index keys (same `{uid}` slot): all or nothing. */
  async signIn(
    userId: string,
    profile: GoogleProfile,
    session: NewSession,
    limits: SignInLimits = { maxSessions: 0 },
  ): Promise<{ user: UserRecord; isNewUser: boolean }> {
    const now = assertTime('createdAt', session.createdAt);
    const end = Math.min(assertTime('expiresAt', session.expiresAt), assertTime('refreshExpiresAt', session.refreshExpiresAt));
    const set = encodeProfile(profile);
    const [isNew, flat] = await this.client.agSignIn(
      this.keys.user(userId),
      this.keys.session(userId, session.id),
      this.keys.sessionIndex(userId),
      String(now),
      String(end),
      session.id,
      String(Math.max(0, Math.floor(limits.maxSessions))),
      sessionPrefix(this.keys, userId),
      gracePrefix(this.keys, userId),
      String(set.length / 2),
      ...set,
      String(PROFILE_FIELDS.length),
      ...PROFILE_FIELDS,
      ...encodeSession(session),
    );
    const user = decodeUser(userId, pairs(flat));
    if (!user) throw new Error('signIn: user record missing after write');
    return { user, isNewUser: isNew === 1 };
  }

  /**
   * One round trip. On a single node: the HGETALLs join the turn's shared pipeline (one
   * network write). The keys may hash to different Cluster slots, so on a Cluster client the
   * reads are issued together instead and ioredis' auto-pipelining batches them per node.
   */
  async getUsers(ids: readonly string[]): Promise<(UserRecord | null)[]> {
    if (ids.length === 0) return [];
    const keys = ids.map((id) => this.keys.user(id));
    const replies = this.batch ? await this.batch.read(keys) : await Promise.all(keys.map((key) => this.client.hgetall(key)));
    return ids.map((id, i) => decodeUser(id, replies[i]!));
  }

  async getIdentity(provider: 'google', subject: string): Promise<string | null> {
    return this.client.get(this.keys.identity(provider, subject));
  }

  /** One Lua script over the user record and the session index (same `{uid}` slot). */
  async setDisabled(userId: string, disabled: boolean): Promise<{ found: boolean; sessionsEnded: number }> {
    const [found, ended] = await this.client.agSetDisabled(
      this.keys.user(userId),
      this.keys.sessionIndex(userId),
      disabled ? '1' : '0',
      sessionPrefix(this.keys, userId),
      gracePrefix(this.keys, userId),
    );
    return { found: found === 1, sessionsEnded: ended };
  }

  /**
   * The identity key lives in another Cluster slot than the user's keys, so this is two
   * atomic steps, identity first: from then on no new sign-in can reach this user id (a
   * concurrent sign-in links a fresh id). Unlinking only while the link still names this user
   * keeps a fresh account that was linked in between. A sign-in that looked the link up just
   * before and writes just after is caught by the session service (see SessionService.signIn).
   */
  async deleteAccount(userId: string): Promise<boolean> {
    const [user] = await this.getUsers([userId]);
    if (user) await this.client.agDeleteIfEquals(this.keys.identity('google', user.googleSub), userId);
    const existed = await this.client.agDeleteUser(
      this.keys.user(userId),
      this.keys.sessionIndex(userId),
      sessionPrefix(this.keys, userId),
      gracePrefix(this.keys, userId),
    );
    return existed === 1;
  }
}

/** `<prefix>sess:{uid}:`: session keys are this plus the session id (same hash tag as the user). */
export function sessionPrefix(keys: KeyLayout, userId: string): string {
  return keys.session(userId, '');
}

/** `<prefix>grace:{uid}:` */
export function gracePrefix(keys: KeyLayout, userId: string): string {
  return keys.grace(userId, '');
}
