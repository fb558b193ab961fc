import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { libraryVerifier, ourVerifier, rawVerifier, type IdTokenVerifier } from '../../bench/lib/verifiers.js';
import { FakeGoogle } from '../support/fake-google.js';

/**
 * The benchmark compares ID-token verifiers only if they do the same job: each must accept the
 * fake issuer's valid tokens (google-auth-library through the issuer's PEM endpoint, ours
 * through its JWKS) and refuse a token whose signature does not match.
 */
describe('benchmark verifiers', () => {
  let google: FakeGoogle;
  let verifiers: IdTokenVerifier[];
  beforeAll(async () => {
    google = await FakeGoogle.start({ clientId: 'bench-test.apps.googleusercontent.com' });
    verifiers = [await ourVerifier(google), await libraryVerifier(google), rawVerifier(google)];
  });
  afterAll(async () => {
    await google?.close();
  });

  it('google-auth-library fetched its certificates from the fake issuer, once', () => {
    expect(google.pemFetchCount).toBe(1);
  });

  it('all accept a valid token and return its sub', async () => {
    const token = await google.mint({ sub: '123456789012345678901' });
    for (const v of verifiers) expect(await v.verify(token)).toBe('123456789012345678901');
  });

  it('all refuse a token whose payload was changed after signing', async () => {
    const token = await google.hostile.tamperedPayload();
    const [ours, library, raw] = verifiers as [IdTokenVerifier, IdTokenVerifier, IdTokenVerifier];
    await expect(ours.verify(token)).rejects.toMatchObject({ name: 'AuthError', reason: 'bad_signature' });
    await expect(library.verify(token)).rejects.toThrow(/^Invalid token signature: /);
    await expect(raw.verify(token)).rejects.toThrow(/^bad signature$/);
  });

  it('the library and ours refuse a token for another audience', async () => {
    const token = await google.mint({ aud: 'someone-else.apps.googleusercontent.com' });
    const [ours, library] = verifiers as [IdTokenVerifier, IdTokenVerifier];
    await expect(ours.verify(token)).rejects.toMatchObject({ name: 'AuthError', reason: 'wrong_audience' });
    await expect(library.verify(token)).rejects.toThrow(/^Wrong recipient, payload audience != requiredAudience$/);
  });
});
