import type { RotateInput, RotateOutcome, SessionRecord, SessionStore, UserRecord } from '../types.js';
import type { KeyLayout } from '../keys.js';
import type { ScriptedRedis } from './scripts.js';
import { assertTime, decodeSession, decodeUser, pairs } from './codec.js';
import { unwrap } from './exec.js';
import { gracePrefix, sessionPrefix } from './accounts.js';
import type { HashReadBatcher } from './read-batch.js';

export class RedisSessionStore implements SessionStore {
  constructor(
    private readonly client: ScriptedRedis,
    private readonly keys: KeyLayout,
    /** Single node / Sentinel: concurrent requests share one pipeline (src/store/redis/read-batch.ts); null on Cluster. */
    private readonly batch: HashReadBatcher | null,
  ) {}

  /**
   * Runs on every authenticated request, so: one round trip, two HGETALLs. On a single node
   * they join the other concurrent requests' reads in one pipeline; on Cluster they are one
   * pipeline of their own (both keys carry the `{uid}` tag, so they are on one node). An
   * expired session is gone by Redis' own PEXPIREAT.
   */
  async getSessionWithUser(userId: string, sessionId: string): Promise<{ session: SessionRecord | null; user: UserRecord | null }> {
    const keys = [this.keys.session(userId, sessionId), this.keys.user(userId)];
    const [s, u] = this.batch
      ? await this.batch.read(keys)
      : (unwrap(await this.client.pipeline().hgetall(keys[0]!).hgetall(keys[1]!).exec()) as [Record<string, string>, Record<string, string>]);
    return { session: decodeSession(userId, sessionId, s!), user: decodeUser(userId, u!) };
  }

  /** One Lua script (atomic): see ROTATE in scripts.ts for the decision table. */
  async rotateRefreshToken(userId: string, sessionId: string, input: RotateInput): Promise<RotateOutcome> {
    const [kind, flat, box] = await this.client.agRotate(
      this.keys.session(userId, sessionId),
      this.keys.grace(userId, sessionId),
      this.keys.sessionIndex(userId),
      input.presentedHash,
      input.nextHash,
      input.graceBox,
      String(assertTime('now', input.now)),
      String(Math.max(0, Math.ceil(input.graceMs))),
      String(assertTime('nextRefreshExpiresAt', input.nextRefreshExpiresAt)),
      sessionId,
    );
    switch (kind) {
      case 'rotated':
      case 'grace': {
        const session = decodeSession(userId, sessionId, pairs(flat ?? []));
        // Only when the new refresh end is already past the server clock (PEXPIREAT deleted the key).
        if (!session) return { kind: 'not_found' };
        return kind === 'rotated' ? { kind, session } : { kind, session, graceBox: box! };
      }
      case 'reused':
      case 'mismatch':
      case 'not_found':
        return { kind };
      default:
        throw new Error(`rotateRefreshToken: unexpected script reply ${String(kind)}`);
    }
  }

  /** MULTI/EXEC over three keys of one `{uid}` slot. */
  async revokeSession(userId: string, sessionId: string): Promise<boolean> {
    const [deleted] = unwrap(
      await this.client
        .multi()
        .del(this.keys.session(userId, sessionId))
        .del(this.keys.grace(userId, sessionId))
        .zrem(this.keys.sessionIndex(userId), sessionId)
        .exec(),
    );
    return deleted === 1;
  }

  /**
   * Not on the request path, so a few round trips are fine: prune ended index entries and
   * read the rest; read those sessions; drop index entries whose session key is gone (revoked
   * by a path that did not clean up, or expired by the server clock before `now`).
   */
  async listSessions(userId: string, now: number): Promise<SessionRecord[]> {
    assertTime('now', now);
    const index = this.keys.sessionIndex(userId);
    const [, sids] = unwrap(await this.client.multi().zremrangebyscore(index, '-inf', now).zrange(index, 0, -1).exec()) as [
      number,
      string[],
    ];
    if (sids.length === 0) return [];
    const p = this.client.pipeline();
    for (const sid of sids) p.hgetall(this.keys.session(userId, sid));
    const hashes = unwrap(await p.exec()) as Record<string, string>[];
    const live: SessionRecord[] = [];
    const dead: string[] = [];
    sids.forEach((sid, i) => {
      const s = decodeSession(userId, sid, hashes[i]!);
      if (s && Math.min(s.expiresAt, s.refreshExpiresAt) > now) live.push(s);
      else if (!s) dead.push(sid);
    });
    if (dead.length > 0) await this.client.zrem(index, ...dead);
    return live.sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** One Lua script: the index is read and its sessions deleted atomically. */
  async revokeAllSessions(userId: string, keepSessionId: string | null): Promise<number> {
    return this.client.agRevokeAll(
      this.keys.sessionIndex(userId),
      sessionPrefix(this.keys, userId),
      gracePrefix(this.keys, userId),
      keepSessionId ?? '',
    );
  }

  /** One single-key Lua script (a plain HSET would recreate a session that was just revoked). */
  async touchSession(userId: string, sessionId: string, now: number): Promise<void> {
    await this.client.agTouch(this.keys.session(userId, sessionId), String(assertTime('now', now)));
  }
}
