import { AuthError, storeCall, storeFailure } from '../errors.js';
import type { AccountStore, Revocation, RevocationReason, SessionRecord, UserRecord } from '../store/types.js';
import type { AccessClaims, AccessTokens } from './access-token.js';
import { isRandomId } from './ids.js';
import { checkAccess, isLive, newestFirst, shouldRecordActivity } from './policy.js';

/** The signed-in caller, as the context builder resolves it. */
export interface Principal {
  user: UserRecord;
  session: SessionRecord;
  /** The access token's verified claims (the cached object: no copy per request). */
  claims: AccessClaims;
}

export interface SessionServiceOptions {
  accounts: AccountStore;
  accessTokens: AccessTokens;
  log: { error(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  now: () => number;
}

/** The user's live sessions, newest first (mySessions, the operator CLI). */
export async function liveSessions(accounts: AccountStore, userId: string, now: number): Promise<SessionRecord[]> {
  return (await accounts.listSessions(userId, now)).filter((s) => isLive(s, now)).sort(newestFirst);
}

/** Authenticated requests, and the caller's own sessions. (Sign-in and refresh: sign-in.ts, refresh.ts.) */
export class SessionService {
  /** Sessions whose activity write is in flight: concurrent requests of one session write once. */
  private readonly touching = new Set<string>();
  /** Activity writes in flight (`settled`). */
  private readonly writes = new Set<Promise<void>>();

  constructor(private readonly opts: SessionServiceOptions) {}

  /**
   * Access token → the signed-in caller: the signature checked in process, then one store round
   * trip for the session and its user. Throws AuthError.
   */
  async authenticate(accessToken: string): Promise<Principal> {
    // A token verified before costs no await: most requests carry one (src/sessions/access-token.ts).
    const claims = this.opts.accessTokens.alreadyVerified(accessToken) ?? (await this.opts.accessTokens.verify(accessToken));
    let read: Awaited<ReturnType<AccountStore['readSession']>>;
    try {
      read = await this.opts.accounts.readSession(claims.userId, claims.sessionId);
    } catch (err) {
      throw storeFailure(err, this.opts.log);
    }
    const { session, user } = read;
    const now = this.opts.now();
    const denied = checkAccess(session, user, now);
    if (denied) throw new AuthError(denied);
    this.recordActivity(session!, now);
    return { user: user!, session: session!, claims };
  }

  /**
   * lastSeenAt, at most once a minute per session (`shouldRecordActivity`), after the read and
   * without waiting for the write: the request never pays for it, and a failed write only costs
   * a less precise lastSeenAt.
   */
  private recordActivity(session: SessionRecord, now: number): void {
    if (!shouldRecordActivity(session, now) || this.touching.has(session.id)) return;
    this.touching.add(session.id);
    session.touchedAt = now;
    const write = this.opts.accounts
      .touchSession(session.userId, session.id, now)
      .catch((err: unknown) => this.opts.log.warn({ err }, 'could not record session activity'))
      .finally(() => {
        this.touching.delete(session.id);
        this.writes.delete(write);
      });
    this.writes.add(write);
  }

  /** Resolves once every activity write started before the call has landed (or failed). */
  async settled(): Promise<void> {
    await Promise.all([...this.writes]);
  }

  async signOut(principal: Principal): Promise<boolean> {
    return this.end(principal, { kind: 'session', sessionId: principal.session.id }, 'sign_out').then((n) => n > 0);
  }

  async listSessions(principal: Pick<Principal, 'user'>): Promise<SessionRecord[]> {
    return storeCall(liveSessions(this.opts.accounts, principal.user.id, this.opts.now()), this.opts.log);
  }

  /**
   * Ends one of the caller's own sessions. Session keys are looked up under the caller's user
   * id only, so another user's session id is simply not found: false, exactly as for an
   * unknown or malformed id, and nothing tells the caller whether it exists elsewhere.
   */
  async revokeSession(principal: Principal, sessionId: string): Promise<boolean> {
    if (!isRandomId(sessionId)) return false;
    return (await this.end(principal, { kind: 'session', sessionId }, 'revoked')) > 0;
  }

  /** Ends every session of the caller but the current one; returns how many ended. */
  async signOutOtherSessions(principal: Principal): Promise<number> {
    return this.end(principal, { kind: 'others', keep: principal.session.id }, 'sign_out_others');
  }

  /** Ends every session of the caller, the current one included; returns how many ended. */
  async signOutEverywhere(principal: Principal): Promise<number> {
    return this.end(principal, { kind: 'all' }, 'sign_out_everywhere');
  }

  /** Ends sessions, each with its `session.revoked` event (`reason`) in the same step. */
  private end(principal: Principal, revocation: Revocation, reason: RevocationReason): Promise<number> {
    return storeCall(this.opts.accounts.endSessions(principal.user.id, revocation, { reason, now: this.opts.now() }), this.opts.log);
  }
}
