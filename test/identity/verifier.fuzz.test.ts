import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { AuthError } from '../../src/errors.js';
import { clockWithNow } from '../../src/identity/keys/index.js';
import type { OidcProvider, VerifiedIdToken } from '../../src/identity/provider.js';
import { apple, google as googleProvider } from '../../src/identity/providers/index.js';
import { providerKeys } from '../../src/identity/verification.js';
import { IdTokenVerifier, MAX_ID_TOKEN_LENGTH } from '../../src/identity/verifier.js';
import { createMemoryStores } from '../../src/store/memory/index.js';
import { FakeApple } from '../support/fake-apple.js';
import { FakeClock, FakeGoogle, type FakeKey } from '../support/fake-google.js';
import {
  APPLE_SHAPE,
  applyMutations,
  buildClaimsToken,
  buildHeaderToken,
  claimsRecipeFor,
  GOOGLE_SHAPE,
  headerRecipe,
  ID_TOKEN_REASONS,
  mutation,
  randomToken,
  sameSignedToken,
  type TokenShape,
} from '../support/token-fuzz.js';
import { captureLogger } from './helpers.js';

/**
 * Property tests of the ID-token verifier, once per provider (Google's tokens, Apple's): a few
 * thousand random, mutated and re-signed hostile tokens each. Every answer must be an
 * acceptance that the policy allows, or an AuthError (UNAUTHENTICATED + a reason from the
 * closed list); nothing else may escape, and the verifier's catch-all for unexpected errors
 * (which would hide a bug as `malformed`) must never fire.
 *
 * "Quickly": the only slow thing the verifier can do is fetch the provider's keys, and no
 * token may make it wait for one: across the whole run the provider is asked at most twice
 * (the first load and one unknown-`kid` refetch per cooldown; the clock stands still). Each
 * verification's time is measured and reported, not asserted (performance assertions live in
 * the benchmark).
 */
interface Case {
  shape: TokenShape;
  provider: OidcProvider<unknown>;
  client: string;
  start: (opts: { clientId: string; now: () => number }) => Promise<FakeGoogle>;
  options: unknown;
}
const CASES: Case[] = [
  { shape: GOOGLE_SHAPE, provider: googleProvider, client: 'fuzz-client.apps.googleusercontent.com', start: (o) => FakeGoogle.start(o), options: { hostedDomains: [] } },
  { shape: APPLE_SHAPE, provider: apple, client: 'com.example.fuzz', start: (o) => FakeApple.start(o), options: null },
];

describe.each(CASES)('$shape.provider ID-token verifier under fuzzing', ({ shape, provider, client: CLIENT, start, options }) => {
  let google: FakeGoogle;
  let clock: FakeClock;
  let verifier: IdTokenVerifier<unknown>;
  let rogue: FakeKey;
  const genuine: string[] = [];
  const unexpected: unknown[] = [];
  const log = captureLogger();
  const timings: number[] = [];
  /** family → [accepted, total], reported at the end so a reader sees both paths were exercised. */
  const tally = new Map<string, [number, number]>();
  const count = (family: string, accepted: boolean) => {
    const t = tally.get(family) ?? [0, 0];
    tally.set(family, [t[0] + (accepted ? 1 : 0), t[1] + 1]);
  };
  const claimsRecipe = claimsRecipeFor(shape);

  const nowS = () => Math.floor(clock.now() / 1000);

  type Outcome = { accepted: true; profile: VerifiedIdToken } | { accepted: false; reason: string };

  /** Verifies; an accepted token or a typed rejection comes back, anything else fails the property. */
  async function verify(token: string, nonce: string | null = null): Promise<Outcome> {
    const start = performance.now();
    try {
      const profile = await verifier.verify(token, { nonce });
      return { accepted: true, profile };
    } catch (err) {
      if (!(err instanceof AuthError)) throw new Error(`not an AuthError: ${String(err)}`);
      expect(err.extensions).toEqual({ code: 'UNAUTHENTICATED', reason: err.reason });
      expect(ID_TOKEN_REASONS).toContain(err.reason);
      return { accepted: false, reason: err.reason };
    } finally {
      timings.push(performance.now() - start);
      expect(unexpected).toEqual([]);
    }
  }

  beforeAll(async () => {
    clock = new FakeClock();
    google = await start({ clientId: CLIENT, now: clock.now });
    const stores = createMemoryStores();
    const keys = providerKeys(provider, { jwksUri: google.jwksUri, store: stores.keySets, locks: stores.locks, clock: clockWithNow(clock.now), logger: log });
    verifier = new IdTokenVerifier<unknown>({ provider, keys, audiences: [CLIENT], options, now: clock.now, onUnexpectedError: (err) => unexpected.push(err) });
    rogue = await google.newKey();
    genuine.push(await google.mint(), await google.mint({ nonce: 'n-1', hd: 'example.com' }), await google.mint({ aud: [CLIENT], sub: '1'.repeat(255) }));
    for (const t of genuine) expect((await verify(t)).accepted).toBe(true);
  });

  afterAll(async () => {
    await google.close();
    const sorted = [...timings].sort((a, b) => a - b);
    const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!.toFixed(2);
    const accepted = [...tally].map(([family, [ok, n]]) => `${family} ${ok}/${n}`).join(', ');
    process.stdout.write(`verifier fuzz (${shape.provider}): ${timings.length} tokens, p50 ${q(0.5)} ms, p99 ${q(0.99)} ms, max ${q(1)} ms, key fetches ${google.fetchCount}; accepted: ${accepted}\n`);
  });

  it('rejects random and JWT-shaped junk with a typed reason', async () => {
    await fc.assert(
      fc.asyncProperty(randomToken, fc.option(fc.string({ maxLength: 40 })), async (token, nonce) => {
        expect((await verify(token, nonce)).accepted).toBe(false);
      }),
      { numRuns: 1200 },
    );
  });

  it('rejects every mutation of a genuine token (bit flips, truncation, segment games, grafts)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(genuine.length - 1), fc.array(mutation, { minLength: 1, maxLength: 3 }), async (i, mutations) => {
        const original = genuine[i]!;
        const token = applyMutations(original, mutations, genuine);
        fc.pre(token !== original);
        const outcome = await verify(token);
        count('mutated', outcome.accepted);
        // Base64url has spare bits in a segment's last character: a signature spelled
        // differently but decoding to the same bytes is the same signature (and only the
        // signature segment can differ: the others are signed as text).
        // A graft may also rebuild another genuine token whole.
        if (outcome.accepted) expect(genuine.some((g) => sameSignedToken(g, token))).toBe(true);
      }),
      { numRuns: 1500 },
    );
  });

  it('accepts a re-signed header only with RS256, the published kid and no unknown critical extension', async () => {
    await fc.assert(
      fc.asyncProperty(headerRecipe, async (recipe) => {
        const { token, header } = await buildHeaderToken(google, recipe, { key: rogue }, nowS());
        const outcome = await verify(token);
        count('re-signed headers', outcome.accepted);
        if (token.length > MAX_ID_TOKEN_LENGTH) expect(outcome).toEqual({ accepted: false, reason: 'too_large' });
        if (recipe.signer === 'rogue') expect(outcome.accepted).toBe(false);
        if (outcome.accepted) {
          expect(header.alg).toBe('RS256');
          expect(header.kid).toBe(google.current.kid);
          // jose understands exactly one extension, `b64` (RFC 7797), and refuses `b64: false` for JWTs.
          if (header.crit !== undefined) expect({ crit: header.crit, b64: header.b64 }).toEqual({ crit: ['b64'], b64: true });
        }
        if (header.alg !== 'RS256' && typeof header.alg === 'string') expect(outcome).toEqual({ accepted: false, reason: 'unsupported_algorithm' });
      }),
      { numRuns: 400 },
    );
  });

  it('accepts re-signed claims only when the policy allows them, and reads odd profile claims as absent', async () => {
    await fc.assert(
      fc.asyncProperty(claimsRecipe, async (recipe) => {
        const now = nowS();
        const { token, claims, nonce } = await buildClaimsToken(google, recipe, now);
        const outcome = await verify(token, nonce);
        count('re-signed claims', outcome.accepted);
        if (claims === null) {
          expect(outcome.accepted).toBe(false);
          return;
        }
        const identityTouched = shape.identityClaims.some((c) => c in recipe.overrides);
        if (!identityTouched && nonce === null && token.length <= MAX_ID_TOKEN_LENGTH) expect(outcome.accepted).toBe(true);
        if (!outcome.accepted) return;

        // Sound: everything the policy requires holds.
        const { iss, aud, azp, sub, exp, iat, nbf } = claims;
        expect(shape.issuers).toContain(iss);
        expect(aud === CLIENT || (Array.isArray(aud) && aud.length > 0 && aud.every((a) => a === CLIENT))).toBe(true);
        if (Array.isArray(aud) && aud.length > 1 && azp !== undefined) expect(azp).toBe(CLIENT);
        expect(typeof sub === 'string' && sub.length > 0 && sub.length <= 255).toBe(true);
        expect(typeof exp === 'number' && typeof iat === 'number').toBe(true);
        expect(exp as number).toBeGreaterThan(now - 60);
        expect(iat as number).toBeLessThanOrEqual(now + 60);
        expect(exp as number).toBeGreaterThan(iat as number);
        expect((exp as number) - (iat as number)).toBeLessThanOrEqual(86_400);
        if (nbf !== undefined) expect(typeof nbf === 'number' && nbf <= now + 60).toBe(true);
        if (nonce !== null) {
          expect([nonce, createHash('sha256').update(nonce).digest('hex')]).toContain(claims.nonce);
        }
        // Typed: profile fields are non-empty strings or null, whatever the token carried.
        const p = outcome.profile;
        expect(p.sub).toBe(sub);
        expect(p.provider).toBe(shape.provider);
        for (const f of [p.email, p.name, p.givenName, p.familyName, p.picture, p.locale, p.hostedDomain]) {
          expect(f === null || (typeof f === 'string' && f.length > 0)).toBe(true);
        }
        expect(typeof p.emailVerified).toBe('boolean');
        expect(typeof p.isPrivateEmail).toBe('boolean');
        if (p.emailVerified) expect(p.email !== null && (claims.email_verified === true || claims.email_verified === 'true')).toBe(true);
        if (shape.provider === 'apple') {
          // Apple's booleans were read as sent: only true/"true" and false/"false"/absent pass.
          for (const [claim, value] of [['email_verified', p.emailVerified || (p.email === null && (claims.email_verified === true || claims.email_verified === 'true'))], ['is_private_email', p.isPrivateEmail]] as const) {
            expect([value ? true : false, value ? 'true' : 'false', ...(value ? [] : [undefined])]).toContain(claims[claim]);
          }
          expect([0, 1, 2, null]).toContain(p.realUserStatus);
          expect(p.name).toBeNull();
        } else {
          expect(p.isPrivateEmail).toBe(false);
        }
      }),
      { numRuns: 600 },
    );
  });

  it('refuses anything over the size limit before parsing it', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: MAX_ID_TOKEN_LENGTH + 1, max: 70_000 }), fc.constantFrom('a', '.', 'eyJ', '{'), async (length, unit) => {
        expect(await verify(unit.repeat(Math.ceil(length / unit.length)))).toEqual({ accepted: false, reason: 'too_large' });
      }),
      { numRuns: 100 },
    );
  });

  it('never waited on the provider: at most the first load and one unknown-kid refetch', () => {
    expect(timings.length).toBeGreaterThan(3000);
    expect(google.fetchCount).toBeLessThanOrEqual(2);
  });
});
