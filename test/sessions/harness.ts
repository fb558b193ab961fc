import { afterAll, beforeAll } from '@jest/globals';
import { Redis } from 'ioredis';
import { UnsecuredJWT } from 'jose';
import { AuthError } from '../../src/errors.js';
import { AuthRateLimits } from '../../src/rate-limit/auth-limits.js';
import { AccessTokens } from '../../src/sessions/access-token.js';
import { SessionTokens, type AuthResult, type Outcome } from '../../src/sessions/auth-result.js';
import type { SessionRules } from '../../src/sessions/policy.js';
import { RefreshSession } from '../../src/sessions/refresh.js';
import { SessionService } from '../../src/sessions/session-service.js';
import { SignIn } from '../../src/sessions/sign-in.js';
import { SignInNonces, UsedIdTokens } from '../../src/sessions/single-use.js';
import { SigningKeys } from '../../src/sessions/signing-keys.js';
import { createRedisClient, createRedisStores, whenReady } from '../../src/store/redis/index.js';
import type { VerifiedIdToken } from '../../src/identity/provider.js';
import type { Stores } from '../../src/store/types.js';
import { AccountService } from '../../src/users/account-service.js';
import { IdentityService } from '../../src/users/identity-service.js';
import { uniquePrefix } from '../support/env.js';
import { FakeClock } from '../support/fake-google.js';

/**
 * The session use cases wired as the gateway wires them (src/gateway.ts), on a real Redis and a
 * controllable clock. Only the providers' verification is replaced: `idToken(profile)` makes a
 * token that the verification answers with that profile, for whichever provider it is asked
 * (real verification is tested in test/identity and, end to end, in test/e2e). Where a test
 * needs to count or interleave store calls it wraps the real stores (`wrap`); the calls still
 * reach Redis.
 */
export const MIN = 60_000;
export const meta = { userAgent: 'test-agent', clientAddress: '203.0.113.9' };
const RELAXED = { limit: 10_000, windowMs: 60_000 };

export interface HarnessOptions {
  url: string;
  maxSessionsPerUser?: number;
  rateLimits?: Partial<Record<'signInPerAddress' | 'authFailuresPerAddress' | 'signInPerAccount' | 'refreshPerSession', { limit: number; windowMs: number }>>;
  requireNonce?: boolean;
  rejectReplayedIdTokens?: boolean;
  wrap?: (stores: Stores) => Stores;
}

/** What a harness token verifies to: a provider's claims without the provider and times. */
export type Profile = Omit<VerifiedIdToken, 'provider' | 'exp' | 'iat'>;

export interface Harness {
  signIn: SignIn;
  identities: IdentityService;
  refresh: RefreshSession;
  sessions: SessionService;
  accounts: AccountService;
  nonces: SignInNonces;
  rateLimits: AuthRateLimits;
  stores: Stores;
  clock: FakeClock;
  prefix: string;
  /** Lines the use cases logged at warn level. */
  warnings: object[];
  /** Every outcome counted, in order, per use case. */
  counted: { signIn: Outcome<AuthResult>[]; refresh: Outcome<AuthResult>[] };
  /** How many times the verifier ran. */
  verifications(): number;
  close(): Promise<void>;
}

let subCounter = 0;
export function newProfile(): Profile {
  const sub = `sub-${Date.now()}-${subCounter++}`;
  return {
    sub,
    email: `${sub}@example.com`,
    emailVerified: true,
    isPrivateEmail: false,
    realUserStatus: null,
    name: 'Ada',
    givenName: null,
    familyName: null,
    picture: null,
    locale: null,
    hostedDomain: null,
  };
}

/** An ID token for `profile` (unsigned: only this harness's verifier reads it), unique per call. */
export function idToken(profile: Profile, clock: FakeClock): string {
  const iat = Math.floor(clock.t / 1000);
  return new UnsecuredJWT({ profile, jti: `${subCounter++}` }).setSubject(profile.sub).setIssuedAt(iat).setExpirationTime(iat + 3600).encode();
}

export async function harness(opts: HarnessOptions): Promise<Harness> {
  const prefix = uniquePrefix();
  const client = createRedisClient(opts.url);
  await whenReady(client);
  const real = createRedisStores({ client, keyPrefix: prefix, ownsClient: true });
  const stores = opts.wrap ? opts.wrap(real) : real;
  const clock = new FakeClock();
  const warnings: object[] = [];
  const log = { error: () => undefined, warn: (obj: object) => void warnings.push(obj), info: () => undefined };
  const keys = new SigningKeys({ store: stores.signingKeys, locks: stores.locks, accessTokenTtlMs: 15 * MIN, now: clock.now });
  await keys.maintain();
  const accessTokens = new AccessTokens({ keys, issuer: 'https://issuer.test', audience: 'aud', ttlMs: 15 * MIN, now: clock.now });
  const rules: SessionRules = { refreshTtlMs: 60 * MIN, maxLifetimeMs: 180 * MIN, refreshGraceMs: 10_000, maxSessionsPerUser: opts.maxSessionsPerUser ?? 0 };
  const r = opts.rateLimits ?? {};
  const rateLimits = new AuthRateLimits({
    store: stores.rateLimits,
    rules: {
      signInPerAddress: r.signInPerAddress ?? RELAXED,
      authFailuresPerAddress: r.authFailuresPerAddress ?? RELAXED,
      signInPerAccount: r.signInPerAccount ?? RELAXED,
      refreshPerSession: r.refreshPerSession ?? RELAXED,
    },
    now: clock.now,
    log,
  });
  const nonces = new SignInNonces({ store: stores.singleUse, requireNonce: opts.requireNonce ?? false, log, now: clock.now });
  const tokens = new SessionTokens(accessTokens);
  const counted: Harness['counted'] = { signIn: [], refresh: [] };
  let verifications = 0;
  const verification = {
    enabled: (provider: string) => provider === 'google' || provider === 'apple',
    verify: async (provider: string, token: string): Promise<VerifiedIdToken> => {
      verifications++;
      const [, payload] = token.split('.');
      const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString() || 'null') as { profile?: Profile; exp: number; iat: number } | null;
      if (!claims?.profile) throw new AuthError('malformed');
      return { provider, ...claims.profile, exp: claims.exp, iat: claims.iat };
    },
  };
  const usedIdTokens = new UsedIdTokens({ store: stores.singleUse, enabled: opts.rejectReplayedIdTokens ?? false, log, now: clock.now });
  return {
    identities: new IdentityService({ stores, verification, nonces, usedIdTokens, rateLimits, log, now: clock.now }),
    signIn: new SignIn({
      stores,
      rateLimits,
      nonces,
      usedIdTokens,
      verification,
      tokens,
      rules,
      count: (o) => void counted.signIn.push(o),
      log,
      now: clock.now,
    }),
    refresh: new RefreshSession({ stores, rateLimits, tokens, rules, count: (o) => counted.refresh.push(o), log, now: clock.now }),
    sessions: new SessionService({ accounts: stores.accounts, accessTokens, log, now: clock.now }),
    accounts: new AccountService(stores, log, clock.now),
    nonces,
    rateLimits,
    stores,
    clock,
    prefix,
    warnings,
    counted,
    verifications: () => verifications,
    close: () => real.close(),
  };
}

/** A wrapper of `stores` whose `accounts` and `identities` methods can be replaced one by one. */
export function overriding(stores: Stores, over: { accounts?: Partial<Stores['accounts']>; identities?: Partial<Stores['identities']> }): Stores {
  const bind = <T extends object>(target: T, extra: Partial<T> = {}): T =>
    new Proxy(target, {
      get(t, prop, receiver) {
        if (prop in extra) return extra[prop as keyof T];
        const value = Reflect.get(t, prop, receiver) as unknown;
        return typeof value === 'function' ? value.bind(t) : value;
      },
    });
  return { ...stores, accounts: bind(stores.accounts, over.accounts), identities: bind(stores.identities, over.identities) };
}

/**
 * Harnesses on a test file's private Redis, closed after the file, and a raw client beside them
 * for reading what the use cases wrote. Call it inside the `describe`.
 */
export function useHarnesses(redis: { readonly url: string }): { make(opts?: Partial<HarnessOptions>): Promise<Harness>; readonly raw: Redis } {
  const open: Harness[] = [];
  let raw: Redis | undefined;
  beforeAll(() => {
    raw = new Redis(redis.url);
  });
  afterAll(async () => {
    for (const h of open) await h.close();
    raw?.disconnect();
  });
  return {
    async make(opts = {}) {
      const h = await harness({ url: redis.url, ...opts });
      open.push(h);
      return h;
    },
    get raw() {
      if (!raw) throw new Error('useHarnesses: the raw client is made in beforeAll');
      return raw;
    },
  };
}
