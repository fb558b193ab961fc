import type { AuthRateLimits } from '../rate-limit/auth-limits.js';
import type { UserRecord } from '../store/types.js';
import type { AccessTokens } from './access-token.js';
import type { SessionRules } from './policy.js';

/** What a client learns after signing in or refreshing (the GraphQL `AuthPayload`). */
export interface AuthResult {
  accessToken: string;
  accessTokenExpiresAt: number;
  refreshToken: string;
  refreshTokenExpiresAt: number;
  isNewUser: boolean;
  user: UserRecord;
}

/** What a request tells about its client: kept with a new session, and what per-address limits count. */
export interface RequestMeta {
  userAgent: string | null;
  clientAddress: string | null;
}

/** How a sign-in or refresh ended: counted once, from here (metrics, the failure budget). */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

export function settle<T>(work: Promise<T>): Promise<Outcome<T>> {
  return work.then(
    (value) => ({ ok: true, value }),
    (error: unknown) => ({ ok: false, error }),
  );
}

/**
 * Runs one sign-in or refresh and accounts for it once, from how it ended: `count` sees every
 * outcome (the metrics), and an attempt that failed on a rejected credential spends the client
 * address's failure budget before its error reaches the client.
 */
export async function accounted<T>(
  attempt: Promise<T>,
  account: { count(outcome: Outcome<T>): void; rejectsCredential(err: unknown): boolean; spendFailure(): Promise<void> },
): Promise<T> {
  const outcome = await settle(attempt);
  account.count(outcome);
  if (outcome.ok) return outcome.value;
  if (account.rejectsCredential(outcome.error)) await account.spendFailure();
  throw outcome.error;
}

/** What sign-in and refresh both need, beside their stores. */
export interface UseCaseDeps {
  rateLimits: AuthRateLimits;
  tokens: SessionTokens;
  rules: SessionRules;
  /** Counts every attempt once, by how it ended (the `sign_ins_total` / `refreshes_total` metrics). */
  count(outcome: Outcome<AuthResult>): void;
  log: { error(obj: object, msg: string): void };
  now: () => number;
}

/** The last step of sign-in and refresh: an access token for the session, and the answer. */
export class SessionTokens {
  constructor(
    private readonly accessTokens: AccessTokens,
    /** Told of every session that obtains an access token (the active-sessions metric). */
    private readonly activity?: { record(sessionId: string): void },
  ) {}

  async issue(user: UserRecord, sessionId: string, refresh: { token: string; expiresAt: number }, isNewUser: boolean): Promise<AuthResult> {
    const access = await this.accessTokens.sign(user.id, sessionId);
    this.activity?.record(sessionId);
    return {
      accessToken: access.token,
      accessTokenExpiresAt: access.expiresAt,
      refreshToken: refresh.token,
      refreshTokenExpiresAt: refresh.expiresAt,
      isNewUser,
      user,
    };
  }
}
