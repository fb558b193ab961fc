import type { Config } from '../config/index.js';
import { AuthError, guardStore, RateLimitedError } from '../errors.js';
import { parseRefreshToken } from '../sessions/refresh-token.js';
import type { RateLimitDecision, RateLimitStore } from '../store/types.js';
import { addressUnit, hashSubject } from './subjects.js';

/**
 * The rate limits around sign-in and refresh. Counts live in the store (Redis in production),
 * so every instance shares them; each check is one atomic round trip (src/store/gcra.ts).
 *
 *   sign-in-addr     every sign-in attempt, per client address (IPv6: per /64)
 *   auth-fail-addr   rejected ID tokens and refresh tokens, per client address; once spent,
 *                    sign-in and refresh from that address are refused before any verification
 *   sign-in-account  verified sign-ins per Google account (`sub`): bounds how many sessions a
 *                    stolen ID token can open before it expires
 *   refresh-session  successful refreshes per session
 *   nonce-addr       server-issued sign-in nonces per client address (each one is a key in the
 *                    store for 10 minutes; same rule as sign-in attempts, its own count)
 *
 * What is counted *before* we know the caller is honest is keyed only by what the caller
 * cannot choose freely (its address). Limits keyed by an account or a session count only
 * verified events: keyed by claims of an unverified token (a `sub`, a session id read from
 * an access token), anyone could spend another user's budget and lock them out.
 */
export const RateLimitKind = {
  SIGN_IN_PER_ADDRESS: 'sign-in-addr',
  AUTH_FAILURES_PER_ADDRESS: 'auth-fail-addr',
  SIGN_IN_PER_ACCOUNT: 'sign-in-account',
  REFRESH_PER_SESSION: 'refresh-session',
  NONCE_PER_ADDRESS: 'nonce-addr',
} as const;
export type RateLimitKind = (typeof RateLimitKind)[keyof typeof RateLimitKind];

const MESSAGES: Record<RateLimitKind, string> = {
  'sign-in-addr': 'Too many sign-in attempts from this network; retry later.',
  'auth-fail-addr': 'Too many rejected tokens from this network; retry later.',
  'sign-in-account': 'Too many sign-ins to this account; retry later.',
  'refresh-session': 'This session is refreshed too often; retry later.',
  'nonce-addr': 'Too many sign-in nonces requested from this network; retry later.',
};

export interface AuthRateLimitsOptions {
  store: RateLimitStore;
  rules: Config['rateLimits'];
  now?: () => number;
  log: { info(obj: object, msg: string): void; error(obj: object, msg: string): void };
  /** Called once per refusal with the limit that refused (the `rate_limit_hits_total` metric). */
  onLimited?: (kind: RateLimitKind) => void;
}

type Check = [RateLimitKind, Promise<RateLimitDecision>];

export class AuthRateLimits {
  private readonly now: () => number;
  private readonly rules: Record<RateLimitKind, { limit: number; windowMs: number }>;

  constructor(private readonly opts: AuthRateLimitsOptions) {
    this.now = opts.now ?? Date.now;
    this.rules = {
      'sign-in-addr': opts.rules.signInPerAddress,
      'auth-fail-addr': opts.rules.authFailuresPerAddress,
      'sign-in-account': opts.rules.signInPerAccount,
      'refresh-session': opts.rules.refreshPerSession,
      'nonce-addr': opts.rules.signInPerAddress,
    };
  }

  /** `createSignInNonce`: anonymous and writes a key, so it is counted per address like sign-in attempts. */
  async nonce(clientAddress: string | null): Promise<void> {
    const address = hashSubject(addressUnit(clientAddress));
    await this.enforce([[RateLimitKind.NONCE_PER_ADDRESS, this.call('hit', RateLimitKind.NONCE_PER_ADDRESS, address, this.now())]]);
  }

  /**
   * Sign-in: counts the attempt and checks the address's failure budget (one round trip:
   * both calls leave in the same tick and ioredis pipelines them), runs `verify`, counts a
   * rejection against the address, then counts the verified account.
   *
   * `proceed` (optional) starts while the account is being counted, and gets that check as
   * `admitted`: it may read or link (idempotent store calls) alongside it, and must await it
   * before writing anything. The check then shares a round trip with the sign-in's first
   * store call instead of costing one of its own (docs/benchmarks.md). Without `proceed`,
   * the verified profile is returned once the account is admitted.
   * @throws RateLimitedError, SERVICE_UNAVAILABLE when the store fails, or what `verify` throws.
   */
  async signIn<T extends { sub: string }, R = T>(
    clientAddress: string | null,
    verify: () => Promise<T>,
    proceed: (profile: T, admitted: Promise<void>) => Promise<R> = async (profile, admitted) => {
      await admitted;
      return profile as unknown as R;
    },
  ): Promise<R> {
    const address = hashSubject(addressUnit(clientAddress));
    const now = this.now();
    await this.enforce([
      [RateLimitKind.SIGN_IN_PER_ADDRESS, this.call('hit', RateLimitKind.SIGN_IN_PER_ADDRESS, address, now)],
      [RateLimitKind.AUTH_FAILURES_PER_ADDRESS, this.call('peek', RateLimitKind.AUTH_FAILURES_PER_ADDRESS, address, now)],
    ]);
    const profile = await this.countingFailures(address, verify);
    const account = hashSubject(`google:${profile.sub}`);
    const admitted = this.enforce([[RateLimitKind.SIGN_IN_PER_ACCOUNT, this.call('hit', RateLimitKind.SIGN_IN_PER_ACCOUNT, account, this.now())]]);
    // Settled here even if `proceed` fails before awaiting it (no unhandled rejection).
    admitted.catch(() => undefined);
    return proceed(profile, admitted);
  }

  /**
   * Refresh: checks the address's failure budget and the session's refresh budget (one round
   * trip), runs `rotate`, counts a rejection against the address or the refresh against the
   * session. The session is counted only after the store accepted the token (see above); the
   * check before rotating keeps an over-budget refresh from spending the token.
   */
  async refresh<T>(clientAddress: string | null, refreshToken: string, rotate: () => Promise<T>): Promise<T> {
    const address = hashSubject(addressUnit(clientAddress));
    const ids = parseRefreshToken(refreshToken);
    const session = ids ? hashSubject(`session:${ids.userId}.${ids.sessionId}`) : null;
    const now = this.now();
    const checks: Check[] = [[RateLimitKind.AUTH_FAILURES_PER_ADDRESS, this.call('peek', RateLimitKind.AUTH_FAILURES_PER_ADDRESS, address, now)]];
    if (session) checks.push([RateLimitKind.REFRESH_PER_SESSION, this.call('peek', RateLimitKind.REFRESH_PER_SESSION, session, now)]);
    await this.enforce(checks);
    const result = await this.countingFailures(address, rotate);
    if (session) await this.guard(this.call('hit', RateLimitKind.REFRESH_PER_SESSION, session, this.now()));
    return result;
  }

  private call(op: 'hit' | 'peek', kind: RateLimitKind, subject: string, now: number): Promise<RateLimitDecision> {
    const { limit, windowMs } = this.rules[kind];
    return this.opts.store[op](kind, subject, limit, windowMs, now);
  }

  private guard<T>(work: Promise<T>): Promise<T> {
    return guardStore(work, this.opts.log, 'rate-limit store call failed');
  }

  /** Throws RATE_LIMITED with the longest wait among the refused checks, if any. */
  private async enforce(checks: Check[]): Promise<void> {
    const decisions = await this.guard(Promise.all(checks.map(([, p]) => p)));
    let kind: RateLimitKind | null = null;
    let retryAfterMs = 0;
    for (const [i, d] of decisions.entries()) {
      if (!d.allowed && d.retryAfterMs >= retryAfterMs) [kind, retryAfterMs] = [checks[i]![0], d.retryAfterMs];
    }
    if (kind === null) return;
    const retryAfter = Math.max(1, Math.ceil(retryAfterMs / 1000));
    this.opts.log.info({ limit: kind, retryAfter }, 'rate limited');
    this.opts.onLimited?.(kind);
    throw new RateLimitedError(retryAfter, MESSAGES[kind]);
  }

  /** Runs `work`; a rejected token (AuthError) is counted against the address and rethrown. */
  private async countingFailures<T>(address: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      if (err instanceof AuthError) {
        // The client still learns why its token was refused; failing to count is logged, not thrown.
        await this.call('hit', RateLimitKind.AUTH_FAILURES_PER_ADDRESS, address, this.now()).catch((e: unknown) =>
          this.opts.log.error({ err: e }, 'rate-limit store call failed'),
        );
      }
      throw err;
    }
  }
}
