import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { clockWithNow } from '../../src/identity/keys/index.js';
import { apple, providerNamed } from '../../src/identity/providers/index.js';
import { profileWriteOf } from '../../src/identity/account-claims.js';
import { providerKeys } from '../../src/identity/verification.js';
import { IdTokenVerifier } from '../../src/identity/verifier.js';
import { createMemoryStores } from '../../src/store/memory/index.js';
import { FakeApple, APPLE_SUB } from '../support/fake-apple.js';
import { FakeClock } from '../support/fake-google.js';
import { captureLogger, expectAuthError } from './helpers.js';

/** The Apple provider (src/identity/providers/apple.ts) through the common verifier; end to end: test/e2e/apple.test.ts. */
const BUNDLE_ID = 'com.example.app';
let fake: FakeApple;
let clock: FakeClock;
let verifier: IdTokenVerifier<null>;

beforeAll(async () => {
  clock = new FakeClock();
  fake = await FakeApple.start({ clientId: BUNDLE_ID, now: clock.now });
  const stores = createMemoryStores();
  const keys = providerKeys(apple, { jwksUri: fake.jwksUri, store: stores.keySets, locks: stores.locks, clock: clockWithNow(clock.now), logger: captureLogger() });
  verifier = new IdTokenVerifier({ provider: apple, keys, audiences: [BUNDLE_ID, 'com.example.web'], options: null, now: clock.now });
});
afterAll(async () => {
  await fake.close();
});

describe('Apple identity tokens', () => {
  it('map to an identity with Apple’s claims and no profile beyond the email', async () => {
    const iat = Math.floor(clock.now() / 1000);
    await expect(verifier.verify(await fake.mint())).resolves.toEqual({
      provider: 'apple',
      sub: APPLE_SUB,
      email: 'x7k2p9q4rs@privaterelay.appleid.com',
      emailVerified: true,
      isPrivateEmail: true,
      realUserStatus: 2,
      name: null,
      givenName: null,
      familyName: null,
      picture: null,
      locale: null,
      hostedDomain: null,
      iat,
      exp: iat + 600,
    });
    expect(providerNamed('apple')).toBe(apple);
  });

  it.each([
    [true, true],
    ['true', true],
    [false, false],
    ['false', false],
    [undefined, false],
  ])('reads the boolean claims %j as %j', async (value, expected) => {
    const t = await verifier.verify(await fake.mint({ email_verified: value, is_private_email: value }));
    expect([t.emailVerified, t.isPrivateEmail]).toEqual([expected, expected]);
  });

  it.each([['TRUE'], ['True'], ['1'], [1], [0], [null], [''], [['true']], [{ value: true }]])('refuses %j in a boolean claim as malformed', async (value) => {
    await expectAuthError(verifier.verify(await fake.mint({ email_verified: value })), 'malformed');
    await expectAuthError(verifier.verify(await fake.mint({ is_private_email: value })), 'malformed');
  });

  it('verified only with an email', async () => {
    expect(await verifier.verify(await fake.mint({ email: undefined, email_verified: 'true' }))).toMatchObject({ email: null, emailVerified: false });
  });

  it.each([
    [0, 0],
    [1, 1],
    [2, 2],
    ['2', null],
    [3, null],
    [-1, null],
    [null, null],
    [undefined, null],
  ])('keeps real_user_status %j as %j', async (value, expected) => {
    expect((await verifier.verify(await fake.mint({ real_user_status: value }))).realUserStatus).toBe(expected);
  });

  it('accepts every configured audience (a bundle id, a Services ID), the raw nonce or its SHA-256 hex', async () => {
    await expect(verifier.verify(await fake.mint({ aud: 'com.example.web' }))).resolves.toMatchObject({ sub: APPLE_SUB });
    const nonce = 'raw-nonce-kept-by-the-app';
    await expect(verifier.verify(await fake.mint({ nonce: createHash('sha256').update(nonce).digest('hex') }), { nonce })).resolves.toMatchObject({ sub: APPLE_SUB });
    await expect(verifier.verify(await fake.mint({ nonce }), { nonce })).resolves.toMatchObject({ sub: APPLE_SUB });
    await expectAuthError(verifier.verify(await fake.mint({ nonce }), { nonce: 'another' }), 'nonce_mismatch');
  });

  it('a sign-in with Apple writes the email (when there is one) and the names the app sent', async () => {
    const t = await verifier.verify(await fake.mint());
    expect(profileWriteOf(t, { givenName: 'Ada', familyName: ' Lovelace ' })).toEqual({
      set: { email: 'x7k2p9q4rs@privaterelay.appleid.com', emailVerified: true },
      names: { name: 'Ada Lovelace', givenName: 'Ada', familyName: 'Lovelace' },
    });
    const bare = await verifier.verify(await fake.mint({ email: undefined }));
    expect(profileWriteOf(bare, { givenName: '', familyName: null })).toEqual({ set: {}, names: null });
  });
});
