import { AuthError, guardStore } from '../errors.js';
import type { GoogleProfile, SessionRecord, Stores, UserRecord } from '../store/types.js';
import type { AccessTokens } from './access-token.js';
import { randomId } from './ids.js';
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
}

const MAX_USER_AGENT = 256;

export class SessionService {
  private readonly now: () => number;

  constructor(
    private readonly stores: Stores,
    private readonly accessTokens: AccessTokens,
    private readonly policy: SessionPolicy,
    private readonly log: { error(obj: object, msg: string): void },
    now?: () => number,
    /** Told of every session that obtains an access token (the active-sessions metric). */
    private readonly activity?: { record(sessionId: string): void },
  ) {
    this.now = now ?? Date.now;
  }

  private guard<T>(work: Promise<T>): Promise<T> {
    return guardStore(work, (err) => this.log.error({ err }, 'store call failed'));
  }

  /** Creates (or refreshes) the account for a verified Google profile and opens a session. */
  async signIn(profile: GoogleProfile, meta: RequestMeta): Promise<AuthResult> {
    const now = this.now();
    const userId = await this.guard(this.stores.accounts.linkIdentity('google', profile.sub, randomId()));
    const sessionId = randomId();
    const refresh = issueRefreshToken(userId, sessionId);
    const expiresAt = now + this.policy.sessionMaxLifetimeMs;
    const refreshExpiresAt = Math.min(now + this.policy.refreshTtlMs, expiresAt);
    const { user, isNewUser } = await this.guard(
      this.stores.accounts.signIn(userId, profile, {
        id: sessionId,
        refreshHash: refresh.hash,
        createdAt: now,
        expiresAt,
        refreshExpiresAt,
        userAgent: meta.userAgent?.slice(0, MAX_USER_AGENT) ?? null,
        clientAddress: meta.clientAddress,
      }),
    );
    const access = await this.accessTokens.sign(userId, sessionId);
    this.activity?.record(sessionId);
    return {
      accessToken: access.token,
      accessTokenExpiresAt: access.expiresAt,
      refreshToken: refresh.token,
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
    const access = await this.accessTokens.sign(ids.userId, ids.sessionId);
    this.activity?.record(ids.sessionId);
    return {
      accessToken: access.token,
      accessTokenExpiresAt: access.expiresAt,
      refreshToken: token,
      refreshTokenExpiresAt: session.refreshExpiresAt,
      isNewUser: false,
      user,
    };
  }

  /** Access token → the signed-in caller, with one store round trip. Throws AuthError. */
  async authenticate(accessToken: string): Promise<Principal> {
    const claims = await this.accessTokens.verify(accessToken);
    const { session, user } = await this.guard(this.stores.sessions.getSessionWithUser(claims.userId, claims.sessionId));
    if (!session) throw new AuthError('session_revoked');
    if (session.expiresAt <= this.now()) throw new AuthError('session_expired');
    if (!user) throw new AuthError('account_not_found');
    return { user, session };
  }

  async signOut(principal: Principal): Promise<boolean> {
    return this.guard(this.stores.sessions.revokeSession(principal.user.id, principal.session.id));
  }
}
