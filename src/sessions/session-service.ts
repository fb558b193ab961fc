import { AuthError, guardStore } from '../errors.js';
import type { GoogleProfile, SessionRecord, Stores, UserRecord } from '../store/types.js';
import type { AccessTokens } from './access-token.js';
import { isRandomId, randomId } from './ids.js';
import { hashRefreshToken, issueRefreshToken, openGraceBox, parseRefreshToken, sealForGrace } from './refresh-token.js';

/** What a client learns after signing in or refreshing (the GraphQL `AuthPayload`). */
export interface AuthResult {
  accessToken: string;
  accessTokenExpiresAt: number;
  refreshToken: string;
  refreshTokenExpiresAt: number;
  isNewUser: boolean;
  user: UserRecord;
}

export interface RequestMeta {
  userAgent: string | null;
  clientAddress: string | null;
}

/** The signed-in caller, as the context builder resolves it. */
export interface Principal {
  user: UserRecord;
  session: SessionRecord;
}

export interface SessionPolicy {
  refreshTtlMs: number;
  sessionMaxLifetimeMs: number;
  refreshGraceMs: number;
  /** Most live sessions per user (the oldest end first); 0 or absent = no limit. */
  maxSessionsPerUser?: number;
}

const MAX_USER_AGENT = 256;
/**
 * lastSeenAt is kept to this resolution: a request writes it only when the stored value is at
 * least this old, so a busy session costs one small write a minute, not one per request.
 */
export const LAST_SEEN_RESOLUTION_MS = 60_000;

export class SessionService {
  private readonly now: () => number;
  /** Sessions whose lastSeenAt write is in flight: concurrent requests of one session write once. */
  private readonly touching = new Set<string>();

  constructor(
    private readonly stores: Stores,
    private readonly accessTokens: AccessTokens,
    private readonly policy: SessionPolicy,
    private readonly log: { error(obj: object, msg: string): void; warn(obj: object, msg: string): void },
    now?: () => number,
    /** Told of every session that obtains an access token (the active-sessions metric). */
    private readonly activity?: { record(sessionId: string): void },
  ) {
    this.now = now ?? Date.now;
  }

  private guard<T>(work: Promise<T>): Promise<T> {
    return guardStore(work, this.log);
  }

  /**
   * Creates (or refreshes) the account for a verified Google profile and opens a session.
   * Throws AuthError `account_disabled` for a disabled account (no session is written).
   *
   * Account deletion unlinks the Google identity, then deletes the user's keys. A sign-in
   * that looked the link up just before the unlink and writes just after the delete would
   * recreate the user record under the deleted id, with no identity pointing to it: a key
   * nobody could ever reach or delete. Such a write necessarily reports a new user, so for
   * new users (only) the link is read again afterwards; if it no longer names this id, the
   * write is undone and the sign-in starts over, which links a fresh account.
   *
   * `admitted`: a check still in flight (the per-account rate limit) that must pass before
   * anything but the idempotent identity link is written; it runs alongside the link.
   */
  async signIn(profile: GoogleProfile, meta: RequestMeta, admitted?: Promise<void>): Promise<AuthResult> {
    for (let attempt = 1; ; attempt++) {
      const [userId] = await Promise.all([this.guard(this.stores.accounts.linkIdentity('google', profile.sub, randomId())), admitted]);
      const now = this.now();
      const sessionId = randomId();
      const refresh = issueRefreshToken(userId, sessionId);
      const expiresAt = now + this.policy.sessionMaxLifetimeMs;
      const refreshExpiresAt = Math.min(now + this.policy.refreshTtlMs, expiresAt);
      const { user, isNewUser } = await this.guard(
        this.stores.accounts.signIn(
          userId,
          profile,
          {
            id: sessionId,
            refreshHash: refresh.hash,
            createdAt: now,
            expiresAt,
            refreshExpiresAt,
            userAgent: meta.userAgent?.slice(0, MAX_USER_AGENT) ?? null,
            clientAddress: meta.clientAddress,
          },
          { maxSessions: this.policy.maxSessionsPerUser ?? 0 },
        ),
      );
      if (user.disabled) throw new AuthError('account_disabled');
      if (isNewUser && (await this.guard(this.stores.accounts.getIdentity('google', profile.sub))) !== userId) {
        await this.guard(this.stores.accounts.deleteAccount(userId));
        // A second collision would need a second deletion of an account that did not exist a moment ago.
        if (attempt >= 2) throw new AuthError('account_not_found');
        continue;
      }
      return this.issue(user, sessionId, refresh.token, refreshExpiresAt, isNewUser);
    }
  }

  private async issue(user: UserRecord, sessionId: string, refreshToken: string, refreshExpiresAt: number, isNewUser: boolean): Promise<AuthResult> {
    const access = await this.accessTokens.sign(user.id, sessionId);
    this.activity?.record(sessionId);
    return {
      accessToken: access.token,
      accessTokenExpiresAt: access.expiresAt,
      refreshToken,
      refreshTokenExpiresAt: refreshExpiresAt,
      isNewUser,
      user,
    };
  }

  /**
   * Rotates a refresh token. The compare-and-rotate runs atomically in the store, so
   * concurrent retries of one token produce one successor: the first caller rotates, the
   * others (within the grace period) receive that same successor from the sealed grace box.
   * A spent token presented after the grace period means two parties hold it: the session
   * is revoked (RFC 9700 §4.14.2, refresh token rotation with reuse detection).
   */
  async refresh(refreshToken: string): Promise<AuthResult> {
    const ids = parseRefreshToken(refreshToken);
    if (!ids) throw new AuthError('invalid_refresh_token');
    const now = this.now();
    const next = issueRefreshToken(ids.userId, ids.sessionId);
    const outcome = await this.guard(
      this.stores.sessions.rotateRefreshToken(ids.userId, ids.sessionId, {
        presentedHash: hashRefreshToken(refreshToken),
        nextHash: next.hash,
        graceBox: sealForGrace(next.token, refreshToken),
        now,
        graceMs: this.policy.refreshGraceMs,
        nextRefreshExpiresAt: now + this.policy.refreshTtlMs,
      }),
    );
    let token: string;
    let session: SessionRecord;
    switch (outcome.kind) {
      case 'rotated':
        token = next.token;
        session = outcome.session;
        break;
      case 'grace': {
        const opened = openGraceBox(outcome.graceBox, refreshToken);
        if (!opened) throw new AuthError('invalid_refresh_token');
        token = opened;
        session = outcome.session;
        break;
      }
      case 'reused':
        throw new AuthError('refresh_token_reused');
      case 'not_found':
      case 'mismatch':
        throw new AuthError('invalid_refresh_token');
    }
    const [user] = await this.guard(this.stores.accounts.getUsers([ids.userId]));
    if (!user) throw new AuthError('account_not_found');
    if (user.disabled) throw new AuthError('account_disabled');
    return this.issue(user, ids.sessionId, token, session.refreshExpiresAt, false);
  }

  /**
   * Access token → the signed-in caller, with one store round trip. Throws AuthError.
   * Records activity (lastSeenAt) at most once a minute per session, after the read and
   * without waiting for it: the request never pays for the write, and a failed write only
   * costs a less precise lastSeenAt.
   */
  async authenticate(accessToken: string): Promise<Principal> {
    const claims = await this.accessTokens.verify(accessToken);
    const { session, user } = await this.guard(this.stores.sessions.getSessionWithUser(claims.userId, claims.sessionId));
    const now = this.now();
    // Disabled first: it is the reason the client must show, whatever became of the session.
    if (user?.disabled) throw new AuthError('account_disabled');
    if (!session) throw new AuthError('session_revoked');
    if (session.expiresAt <= now) throw new AuthError('session_expired');
    // Redis normally dropped it already (TTL); this covers clock skew between us and Redis.
    if (session.refreshExpiresAt <= now) throw new AuthError('session_revoked');
    if (!user) throw new AuthError('account_not_found');
    this.noteActivity(session, now);
    return { user, session };
  }

  private noteActivity(session: SessionRecord, now: number): void {
    if (now - session.lastSeenAt < LAST_SEEN_RESOLUTION_MS || this.touching.has(session.id)) return;
    this.touching.add(session.id);
    session.lastSeenAt = now;
    this.stores.sessions
      .touchSession(session.userId, session.id, now)
      .catch((err: unknown) => this.log.warn({ err }, 'could not record session activity'))
      .finally(() => this.touching.delete(session.id));
  }

  async signOut(principal: Principal): Promise<boolean> {
    return this.guard(this.stores.sessions.revokeSession(principal.user.id, principal.session.id));
  }

  /** The caller's live sessions, newest first. */
  async listSessions(principal: Principal): Promise<SessionRecord[]> {
    return this.guard(this.stores.sessions.listSessions(principal.user.id, this.now()));
  }

  /**
   * Ends one of the caller's own sessions. Session keys are looked up under the caller's user
   * id only, so another user's session id is simply not found: false, exactly as for an
   * unknown or malformed id, and nothing tells the caller whether it exists elsewhere.
   */
  async revokeSession(principal: Principal, sessionId: string): Promise<boolean> {
    if (!isRandomId(sessionId)) return false;
    return this.guard(this.stores.sessions.revokeSession(principal.user.id, sessionId));
  }

  /** Ends every session of the caller but the current one; returns how many ended. */
  async signOutOtherSessions(principal: Principal): Promise<number> {
    return this.guard(this.stores.sessions.revokeAllSessions(principal.user.id, principal.session.id));
  }

  /** Ends every session of the caller, the current one included; returns how many ended. */
  async signOutEverywhere(principal: Principal): Promise<number> {
    return this.guard(this.stores.sessions.revokeAllSessions(principal.user.id, null));
  }
}
