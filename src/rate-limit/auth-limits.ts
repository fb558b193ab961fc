import type { Config } from '../config/index.js';
import { RateLimitedError, storeCall } from '../errors.js';
import { gcraRule, type GcraParams } from '../store/gcra.js';
import type { RateLimitDecision, RateLimitStore } from '../store/types.js';
import { addressUnit, hashSubject } from './subjects.js';

/**
 * The rate limits around sign-in and refresh (GCRA, src/store/gcra.ts), shared by every
 * instance. Each is a plain call the use cases make at the step it guards
 * (src/sessions/sign-in.ts, src/sessions/refresh.ts):
 *
 *   sign-in-addr     every sign-in attempt, per client address (IPv6: per /64)
 *   auth-fail-addr   rejected ID tokens and refresh tokens, per client address; once spent,
 *                    sign-in and refresh from that address are refused before any verification
 *   introspect-fail-addr  a missing or wrong secret at `/oauth/introspect`, per client address
 *                    (same rule as auth-fail-addr, its own count, so a misconfigured router does
 *                    not also lock sign-in out); once spent, answered 429 instead of 401
 *   risc-fail-addr   a rejected Security Event Token at `/notifications/google-risc`, per client
 *                    address (same rule as auth-fail-addr, its own count); once spent, that
 *                    address is answered 429 before any verification (Google's own deliveries
 *                    are never rejected, so they never spend it)
 *   sign-in-account  verified sign-ins per account: bounds how many sessions a stolen ID token
 *                    can open before it expires
 *   refresh-session  successful refreshes per session
 *   nonce-addr       server-issued sign-in nonces per client address (each one is a key in the
 *                    store for 10 minutes; same rule as sign-in attempts, its own count)
 *
 * What is counted *before* we know the caller is honest is keyed only by what the caller
 * cannot choose freely (its address). Limits keyed by an account or a session count only
 * verified events: keyed by claims of an unverified token (a `sub`, a session id read from a
 * refresh token), anyone could spend another user's budget and lock them out. Those two live
 * in the account's and the session's own records and are applied by the store's sign-in and
 * rotation steps (src/sessions/policy.ts), atomically with what they guard; this class gives
 * them their parameters and turns their refusals into RATE_LIMITED.
 */
export const RateLimitKind = {
  SIGN_IN_PER_ADDRESS: 'sign-in-addr',
  AUTH_FAILURES_PER_ADDRESS: 'auth-fail-addr',
  SIGN_IN_PER_ACCOUNT: 'sign-in-account',
  REFRESH_PER_SESSION: 'refresh-session',
  NONCE_PER_ADDRESS: 'nonce-addr',
  INTROSPECTION_FAILURES_PER_ADDRESS: 'introspect-fail-addr',
  RISC_FAILURES_PER_ADDRESS: 'risc-fail-addr',
} as const;
export type RateLimitKind = (typeof RateLimitKind)[keyof typeof RateLimitKind];

const MESSAGES: Record<RateLimitKind, string> = {
  'sign-in-addr': 'Too many sign-in attempts from this network; retry later.',
  'auth-fail-addr': 'Too many rejected tokens from this network; retry later.',
  'sign-in-account': 'Too many sign-ins to this account; retry later.',
  'refresh-session': 'This session is refreshed too often; retry later.',
  'nonce-addr': 'Too many sign-in nonces requested from this network; retry later.',
  'introspect-fail-addr': 'Too many introspection requests without a valid secret from this network; retry later.',
  'risc-fail-addr': 'Too many rejected security event tokens from this network; retry later.',
};

export interface AuthRateLimitsOptions {
  store: RateLimitStore;
  rules: Config['rateLimits'];
  now?: () => number;
  log: { info(obj: object, msg: string): void; error(obj: object, msg: string): void };
  /** Called once per refusal with the limit that refused (the `rate_limit_hits_total` metric). */
  onLimited?: (kind: RateLimitKind) => void;
}

type AddressKind = 'sign-in-addr' | 'auth-fail-addr' | 'nonce-addr' | 'introspect-fail-addr' | 'risc-fail-addr';

export class AuthRateLimits {
  private readonly now: () => number;
  private readonly addressRules: Record<AddressKind, { limit: number; windowMs: number }>;
  /** RATE_LIMIT_SIGN_IN_PER_ACCOUNT, for the store's sign-in write. */
  readonly perAccount: GcraParams;
  /** RATE_LIMIT_REFRESH_PER_SESSION, for the store's rotation. */
  readonly perSession: GcraParams;

  constructor(private readonly opts: AuthRateLimitsOptions) {
    this.now = opts.now ?? Date.now;
    const r = opts.rules;
    this.addressRules = {
      'sign-in-addr': r.signInPerAddress,
      'auth-fail-addr': r.authFailuresPerAddress,
      'nonce-addr': r.signInPerAddress,
      'introspect-fail-addr': r.authFailuresPerAddress,
      'risc-fail-addr': r.authFailuresPerAddress,
    };
    this.perAccount = gcraRule(r.signInPerAccount.limit, r.signInPerAccount.windowMs);
    this.perSession = gcraRule(r.refreshPerSession.limit, r.refreshPerSession.windowMs);
  }

  /**
   * A sign-in attempt: counts it against the address and checks the address's failure budget,
   * in one round trip (both calls leave in the same tick; ioredis pipelines them).
   */
  async checkSignIn(clientAddress: string | null): Promise<void> {
    const address = subject(clientAddress);
    const now = this.now();
    await this.enforce([
      ['sign-in-addr', this.call('hit', 'sign-in-addr', address, now)],
      ['auth-fail-addr', this.call('peek', 'auth-fail-addr', address, now)],
    ]);
  }

  /** A refresh attempt: checks the address's failure budget (the session's own budget is the store's). */
  async checkRefresh(clientAddress: string | null): Promise<void> {
    await this.enforce([['auth-fail-addr', this.call('peek', 'auth-fail-addr', subject(clientAddress), this.now())]]);
  }

  /** `createSignInNonce`: anonymous and writes a key, so it is counted per address like sign-in attempts. */
  async checkNonceRequest(clientAddress: string | null): Promise<void> {
    await this.enforce([['nonce-addr', this.call('hit', 'nonce-addr', subject(clientAddress), this.now())]]);
  }

  /**
   * A rejected ID token or refresh token, counted against the address's failure budget. Never
   * throws: the client still learns why its token was refused; a failure to count is logged.
   */
  async countRejection(clientAddress: string | null): Promise<void> {
    await this.call('hit', 'auth-fail-addr', subject(clientAddress), this.now()).catch((err: unknown) =>
      this.opts.log.error({ err }, 'rate-limit store call failed'),
    );
  }

  /**
   * A caller of `/oauth/introspect` that presented no valid secret. Returns RATE_LIMITED when
   * the address had already spent its budget (the caller gets 429 instead of 401), else null;
   * a failure to count is logged and answered as an ordinary refusal (null).
   */
  async countIntrospectionFailure(clientAddress: string | null): Promise<RateLimitedError | null> {
    try {
      const d = await this.call('hit', 'introspect-fail-addr', subject(clientAddress), this.now());
      return d.allowed ? null : this.refusal('introspect-fail-addr', d.retryAfterMs);
    } catch (err) {
      this.opts.log.error({ err }, 'rate-limit store call failed');
      return null;
    }
  }

  /**
   * A Security Event Token delivery: RATE_LIMITED when the address has spent its budget of
   * rejected tokens, else null (nothing is counted: only rejections are).
   * @throws ServiceUnavailableError when the store cannot be reached.
   */
  async checkRiscDelivery(clientAddress: string | null): Promise<RateLimitedError | null> {
    try {
      await this.enforce([['risc-fail-addr', this.call('peek', 'risc-fail-addr', subject(clientAddress), this.now())]]);
      return null;
    } catch (err) {
      if (err instanceof RateLimitedError) return err;
      throw err;
    }
  }

  /** A rejected Security Event Token, counted against the address; never throws (a failure to count is logged). */
  async countRiscRejection(clientAddress: string | null): Promise<void> {
    await this.call('hit', 'risc-fail-addr', subject(clientAddress), this.now()).catch((err: unknown) => this.opts.log.error({ err }, 'rate-limit store call failed'));
  }

  /** A refusal the store decided (the account's or the session's budget): the error to throw, logged and counted. */
  refused(kind: 'sign-in-account' | 'refresh-session', retryAfterMs: number): RateLimitedError {
    return this.refusal(kind, retryAfterMs);
  }

  private call(op: 'hit' | 'peek', kind: AddressKind, address: string, now: number): Promise<RateLimitDecision> {
    const { limit, windowMs } = this.addressRules[kind];
    return this.opts.store[op](kind, address, limit, windowMs, now);
  }

  /** Throws RATE_LIMITED with the longest wait among the refused checks, if any. */
  private async enforce(checks: [AddressKind, Promise<RateLimitDecision>][]): Promise<void> {
    const decisions = await storeCall(Promise.all(checks.map(([, p]) => p)), this.opts.log, 'rate-limit store call failed');
    let kind: AddressKind | null = null;
    let retryAfterMs = 0;
    for (const [i, d] of decisions.entries()) {
      if (!d.allowed && d.retryAfterMs >= retryAfterMs) [kind, retryAfterMs] = [checks[i]![0], d.retryAfterMs];
    }
    if (kind !== null) throw this.refusal(kind, retryAfterMs);
  }

  private refusal(kind: RateLimitKind, retryAfterMs: number): RateLimitedError {
    const retryAfter = Math.max(1, Math.ceil(retryAfterMs / 1000));
    this.opts.log.info({ limit: kind, retryAfter }, 'rate limited');
    this.opts.onLimited?.(kind);
    return new RateLimitedError(retryAfter, MESSAGES[kind]);
  }
}

/**
 * The per-address subject: the address unit (IPv6 /64), hashed (src/rate-limit/subjects.ts).
 * Remembered per address: a client sends its refreshes and sign-ins from one address, and the
 * hash is a SHA-256 per request otherwise. Bounded: when full it starts over, so a flood of
 * distinct addresses costs each its hash, never memory.
 */
const subjects = new Map<string | null, string>();
const MAX_REMEMBERED_SUBJECTS = 4096;

function subject(clientAddress: string | null): string {
  let s = subjects.get(clientAddress);
  if (s === undefined) {
    s = hashSubject(addressUnit(clientAddress));
    if (subjects.size >= MAX_REMEMBERED_SUBJECTS) subjects.clear();
    subjects.set(clientAddress, s);
  }
  return s;
}
