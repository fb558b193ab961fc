import { RETIRED_ID_TTL_MS } from '../../users/identity-policy.js';
import type {
  AccountState,
  AccountStore,
  IdentityRef,
  Revocation,
  RevocationCause,
  Rotation,
  RotationResult,
  SessionRecord,
  SessionWrite,
  SessionWriteResult,
  UserRecord,
} from '../types.js';
import type { KeyLayout } from '../keys.js';
import type { RedisClient } from './client.js';
import { assertTime, decodeSession, decodeUser, encodeIdentityClaims, encodeProfileWrite, encodeSession, pairs } from './codec.js';
import { RedisAccountIdentities } from './account-identities.js';
import type { RedisEventLog } from './event-relay.js';
import { unwrap } from './exec.js';
import { runScript, SCRIPTS } from './lua.js';
import { providerName } from '../keys.js';
import type { HashReadBatcher } from './read-batch.js';

/**
 * A user's record, identities and sessions in Redis: every key carries the `{uid}` hash tag
 * (src/store/keys.ts), so each write is one Lua script (./scripts) in one slot, and reads of one
 * user are one pipeline. The scripts apply src/sessions/policy.ts's and
 * src/users/identity-policy.ts's decisions (they mirror them); this class only encodes their
 * inputs and decodes their answers (the identity steps: ./account-identities.ts). The scripts
 * that change an account or end sessions also append its events (src/events/policy.ts) in the
 * same step, to the target `events` names (the stream, or the user's outbox on Cluster).
 */
export class RedisAccountStore extends RedisAccountIdentities implements AccountStore {
  constructor(
    client: RedisClient,
    keys: KeyLayout,
    /** Single node / Sentinel: reads join the turn's shared pipeline (src/store/redis/read-batch.ts); null on Cluster. */
    batch: HashReadBatcher | null,
    events: RedisEventLog,
  ) {
    super(client, keys, batch, events);
  }

  async writeSession(w: SessionWrite): Promise<SessionWriteResult> {
    const { userId, session, identity } = w;
    const now = assertTime('createdAt', session.createdAt);
    const ev = this.eventArgs(userId);
    const reply = (await runScript(this.client, SCRIPTS.writeSession, {
      keys: {
        user: this.keys.user(userId),
        session: this.keys.session(userId, session.id),
        index: this.keys.sessionIndex(userId),
        identities: this.keys.accountIdentities(userId),
        retired: this.keys.retired(userId),
        events: ev.key,
      },
      args: {
        now,
        sessionEnd: Math.min(assertTime('expiresAt', session.expiresAt), assertTime('refreshExpiresAt', session.refreshExpiresAt)),
        sessionId: session.id,
        mustExist: w.mustExist ? '1' : '0',
        maxSessions: Math.max(0, Math.floor(w.maxSessions)),
        limitIntervalMs: w.limit?.intervalMs ?? 0,
        limitCapacityMs: w.limit?.capacityMs ?? 0,
        sessionPrefix: this.sessionPrefix(userId),
        gracePrefix: this.gracePrefix(userId),
        provider: providerName(identity.provider),
        subject: identity.subject,
        ...encodeProfileWrite(w.profile, identity),
        claims: encodeIdentityClaims(identity),
        sessionFields: encodeSession(session),
        ...ev.args,
      },
    })) as [string, (number | string)?, string[]?, number?];
    switch (reply[0]) {
      case 'written': {
        this.events.appended(userId, reply[3] ?? 0);
        const user = decodeUser(userId, pairs(reply[2] ?? []));
        if (!user) throw new Error('write-session: user record missing after the write');
        return { kind: 'written', user, isNewUser: reply[1] === 1 };
      }
      case 'limited':
        return { kind: 'limited', retryAfterMs: Number(reply[1]) };
      case 'gone':
      case 'not_linked':
      case 'account_disabled':
      case 'identity_locked':
        return { kind: reply[0] };
      default:
        throw new Error(`write-session: unexpected reply ${String(reply[0])}`);
    }
  }

  async rotateSession(userId: string, sessionId: string, r: Rotation): Promise<RotationResult> {
    const ev = this.eventArgs(userId);
    const reply = (await runScript(this.client, SCRIPTS.rotateSession, {
      keys: {
        session: this.keys.session(userId, sessionId),
        grace: this.keys.grace(userId, sessionId),
        index: this.keys.sessionIndex(userId),
        user: this.keys.user(userId),
        events: ev.key,
      },
      args: {
        presentedHash: r.presentedHash,
        nextHash: r.nextHash,
        graceBox: r.graceBox,
        now: r.now,
        graceMs: Math.max(0, Math.ceil(r.graceMs)),
        refreshTtlMs: r.refreshTtlMs,
        sessionId,
        limitIntervalMs: r.limit?.intervalMs ?? 0,
        limitCapacityMs: r.limit?.capacityMs ?? 0,
        ...ev.args,
      },
    })) as [string, (string[] | number)?, string[]?, string?];
    const kind = reply[0];
    switch (kind) {
      case 'rotated':
      case 'grace': {
        const session = decodeSession(userId, sessionId, pairs((reply[1] as string[] | undefined) ?? []));
        const user = decodeUser(userId, pairs(reply[2] ?? []));
        // Only when the new refresh end is already past Redis' clock (PEXPIREAT deleted the key).
        if (!session || !user) return { kind: 'not_found' };
        return kind === 'rotated' ? { kind, session, user } : { kind, session, user, graceBox: reply[3]! };
      }
      case 'limited':
        return { kind, retryAfterMs: Number(reply[1]) };
      case 'reused':
        this.events.appended(userId, 1);
        return { kind };
      case 'mismatch':
      case 'not_found':
      case 'account_not_found':
      case 'account_disabled':
        return { kind };
      default:
        throw new Error(`rotate-session: unexpected reply ${String(kind)}`);
    }
  }

  /**
   * Runs on every authenticated request, so: one round trip, two HGETALLs. On a single node
   * they join the other concurrent requests' reads in one pipeline; on Cluster they are one
   * pipeline of their own (both keys carry the `{uid}` tag, so they are on one node). An
   * ended session is gone by Redis' own PEXPIREAT.
   */
  async readSession(userId: string, sessionId: string): Promise<{ session: SessionRecord | null; user: UserRecord | null }> {
    const keys = [this.keys.session(userId, sessionId), this.keys.user(userId)];
    const [s, u] = this.batch
      ? await this.batch.read(keys)
      : (unwrap(await this.client.pipeline().hgetall(keys[0]!).hgetall(keys[1]!).exec()) as [Record<string, string>, Record<string, string>]);
    return { session: decodeSession(userId, sessionId, s!), user: decodeUser(userId, u!) };
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

  /**
   * Not on the request path, so a few round trips are fine: prune ended index entries and
   * read the rest; read those sessions; drop index entries whose session key is gone (ended by
   * a path that did not clean up, or expired by the server clock before `now`).
   */
  async listSessions(userId: string, now: number): Promise<SessionRecord[]> {
    assertTime('now', now);
    const index = this.keys.sessionIndex(userId);
    const [, sids] = unwrap(await this.client.multi().zremrangebyscore(index, '-inf', now).zrange(index, 0, -1).exec()) as [number, string[]];
    if (sids.length === 0) return [];
    const p = this.client.pipeline();
    for (const sid of sids) p.hgetall(this.keys.session(userId, sid));
    const hashes = unwrap(await p.exec()) as Record<string, string>[];
    const stored: SessionRecord[] = [];
    const dead: string[] = [];
    sids.forEach((sid, i) => {
      const s = decodeSession(userId, sid, hashes[i]!);
      if (s) stored.push(s);
      else dead.push(sid);
    });
    if (dead.length > 0) await this.client.zrem(index, ...dead);
    return stored;
  }

  /** One single-key script (a plain HSET would recreate a session that was just ended). */
  async touchSession(userId: string, sessionId: string, now: number): Promise<void> {
    await runScript(this.client, SCRIPTS.touchSession, { keys: { session: this.keys.session(userId, sessionId) }, args: { now } });
  }

  async endSessions(userId: string, revocation: Revocation, cause: RevocationCause): Promise<number> {
    const scope = revocation.kind;
    const sessionId = revocation.kind === 'session' ? revocation.sessionId : revocation.kind === 'others' ? revocation.keep : '';
    const [, ended] = await this.runEnd(userId, scope, sessionId, cause.reason, cause.now);
    return ended;
  }

  async setAccountState(userId: string, state: AccountState, now: number): Promise<{ found: boolean; sessionsEnded: number; identities: IdentityRef[] }> {
    const [found, ended, had] = await this.runEnd(userId, state, '', '', now);
    const identities: IdentityRef[] = [];
    for (let i = 0; i + 1 < had.length; i += 2) identities.push({ provider: had[i]!, subject: had[i + 1]! });
    return { found: found === 1, sessionsEnded: ended, identities };
  }

  /** end-sessions.lua; `had`: the identities a deleted account had, as provider/subject pairs. */
  private async runEnd(userId: string, scope: string, sessionId: string, reason: string, now: number): Promise<[number, number, string[]]> {
    const ev = this.eventArgs(userId);
    const [found, ended, events, had] = (await runScript(this.client, SCRIPTS.endSessions, {
      keys: {
        user: this.keys.user(userId),
        index: this.keys.sessionIndex(userId),
        identities: this.keys.accountIdentities(userId),
        retired: this.keys.retired(userId),
        events: ev.key,
        tokens: this.keys.revocations(userId),
      },
      args: {
        scope,
        sessionId,
        sessionPrefix: this.sessionPrefix(userId),
        gracePrefix: this.gracePrefix(userId),
        reason,
        now: assertTime('now', now),
        ...ev.args,
        retiredMs: RETIRED_ID_TTL_MS,
      },
    })) as [number, number, number, string[]?];
    this.events.appended(userId, events);
    return [found, ended, had ?? []];
  }

  /** `<prefix>sess:{uid}:`: session keys are this plus the session id (same hash tag as the user). */
  private sessionPrefix(userId: string): string {
    return this.keys.session(userId, '');
  }

  /** `<prefix>grace:{uid}:` */
  private gracePrefix(userId: string): string {
    return this.keys.grace(userId, '');
  }
}
