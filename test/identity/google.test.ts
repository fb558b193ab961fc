import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import * as jose from 'jose';
import { AuthError, ServiceUnavailableError } from '../../src/errors.js';
import { clockWithNow, type ProviderKeys } from '../../src/identity/keys/index.js';
import type { VerifiedIdToken } from '../../src/identity/provider.js';
import { google } from '../../src/identity/providers/index.js';
import { providerKeys } from '../../src/identity/verification.js';
import { MAX_ID_TOKEN_LENGTH, type IdTokenVerifier } from '../../src/identity/verifier.js';
import { createMemoryStores } from '../../src/store/memory/index.js';
import { b64json, FakeClock, FakeGoogle } from '../support/fake-google.js';
import { ALICE, captureLogger, expectAuthError, expectUnavailable, googleVerifier } from './helpers.js';

/** The Google provider (src/identity/providers/google.ts) through the common verifier (src/identity/verifier.ts). */
type GoogleIdTokenVerifier = IdTokenVerifier<{ hostedDomains: readonly string[] }>;
type GoogleIdTokenVerifierOptions = Parameters<typeof googleVerifier>[0];

const CLIENT = 'test-client.apps.googleusercontent.com';
const OTHER_CLIENT = 'other-client.apps.googleusercontent.com';
const ANDROID_CLIENT = 'android-client.apps.googleusercontent.com';

let fake: FakeGoogle;
let clock: FakeClock;
let keys: ProviderKeys;
let verifier: GoogleIdTokenVerifier;
const log = captureLogger();
const seenTokens: string[] = [];

const nowS = () => Math.floor(clock.now() / 1000);

function verifierWith(opts: Partial<GoogleIdTokenVerifierOptions> = {}): GoogleIdTokenVerifier {
  return googleVerifier({ keys, clientIds: [CLIENT], now: clock.now, ...opts });
}

async function mint(...args: Parameters<FakeGoogle['mint']>): Promise<string> {
  const t = await fake.mint(...args);
  seenTokens.push(t);
  return t;
}

/** Rejects with `reason`, and the error carries no part of the token. */
async function rejects(token: string, reason: string, opts?: { nonce?: string | null }, v = verifier): Promise<void> {
  const err = await expectAuthError(v.verify(token, opts), reason);
  const serialized = JSON.stringify({ message: err.message, ext: err.extensions, str: String(err), stack: err.stack });
  for (const part of token.split('.')) if (part.length > 8) expect(serialized).not.toContain(part);
}

/** The profile a token minted by `fake.mint` verifies to (`hostedDomain` from `hd`). */
function alice(opts: { iat?: number; lifetime?: number; hostedDomain?: string | null } = {}): VerifiedIdToken {
  const iat = opts.iat ?? nowS();
  return { ...ALICE, hostedDomain: opts.hostedDomain ?? null, iat, exp: iat + (opts.lifetime ?? 3600) };
}

beforeAll(async () => {
  clock = new FakeClock();
  fake = await FakeGoogle.start({ clientId: CLIENT, now: clock.now });
  const stores = createMemoryStores();
  keys = providerKeys(google, { jwksUri: fake.jwksUri, store: stores.keySets, locks: stores.locks, clock: clockWithNow(clock.now), logger: log });
  verifier = verifierWith();
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => {
  clock.t = Date.now();
});

describe('a genuine token', () => {
  it('returns the profile in camelCase, with exp and iat', async () => {
    const token = await mint({ hd: 'example.com' });
    const p = await verifier.verify(token);
    // ALICE (helpers.ts) spells the camelCase profile out.
    expect(p).toEqual({ ...ALICE, hostedDomain: 'example.com', exp: nowS() + 3600, iat: nowS() });
  });

  it('absent profile claims are null (and email_verified false)', async () => {
    const p = await verifier.verify(
      await mint({ email: undefined, email_verified: undefined, name: undefined, given_name: undefined, family_name: undefined, picture: undefined, locale: undefined }),
    );
    expect(p).toMatchObject({ email: null, emailVerified: false, name: null, givenName: null, familyName: null, picture: null, locale: null, hostedDomain: null });
  });

  it('accepts both Google issuer spellings', async () => {
    await expect(verifier.verify(await mint({ iss: 'accounts.google.com' }))).resolves.toEqual(alice());
    await expect(verifier.verify(await mint({ iss: 'https://accounts.google.com' }))).resolves.toEqual(alice());
  });

  it('accepts any configured client id as audience', async () => {
    const v = verifierWith({ clientIds: [OTHER_CLIENT, CLIENT] });
    await expect(v.verify(await mint({ aud: CLIENT }))).resolves.toEqual(alice());
    await expect(v.verify(await mint({ aud: OTHER_CLIENT }))).resolves.toEqual(alice());
  });

  it('refuses to be built without client ids', () => {
    expect(() => verifierWith({ clientIds: [] })).toThrow(TypeError);
    expect(() => verifierWith({ clientIds: [''] })).toThrow(TypeError);
  });
});

describe('shape checks (before any crypto)', () => {
  it('rejects input over 8 KB as too_large, even with a valid signature', async () => {
    await rejects('a'.repeat(MAX_ID_TOKEN_LENGTH + 1), 'too_large');
    const big = await mint({ name: 'x'.repeat(MAX_ID_TOKEN_LENGTH) });
    expect(big.length).toBeGreaterThan(MAX_ID_TOKEN_LENGTH);
    await rejects(big, 'too_large');
  });

  it('the limit is 8 KB exactly: 8192 characters are parsed (here: malformed)', async () => {
    const justFits = `${'a'.repeat(MAX_ID_TOKEN_LENGTH - 4)}.b.c`;
    expect(justFits.length).toBe(MAX_ID_TOKEN_LENGTH);
    await rejects(justFits, 'malformed');
  });

  it.each([
    ['empty', ''],
    ['one segment', 'abc'],
    ['two segments', 'abc.def'],
    ['four segments', 'a.b.c.d'],
    ['empty header', '.b.c'],
    ['empty payload', 'a..c'],
    ['spaces', 'ab c.def.ghi'],
    ['padding', 'abc=.def.ghi'],
    ['standard base64', 'ab+/.def.ghi'],
    ['a Bearer prefix', 'Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln'],
    ['non-ASCII', 'é.é.é'],
    ['newline', 'eyJhbGciOiJSUzI1NiJ9.e30.c2ln\n'],
    ['header not JSON', `${Buffer.from('not json').toString('base64url')}.e30.c2ln`],
    ['header a JSON array', `${b64json(['RS256'])}.e30.c2ln`],
    ['header without alg', `${b64json({ kid: 'k' })}.e30.c2ln`],
    ['alg not a string', `${b64json({ alg: ['RS256'], kid: 'k' })}.e30.c2ln`],
    ['no kid', `${b64json({ alg: 'RS256' })}.e30.c2ln`],
    ['kid not a string', `${b64json({ alg: 'RS256', kid: 7 })}.e30.c2ln`],
    ['empty kid', `${b64json({ alg: 'RS256', kid: '' })}.e30.c2ln`],
    ['huge kid', `${b64json({ alg: 'RS256', kid: 'k'.repeat(300) })}.e30.c2ln`],
  ])('rejects %s as malformed', async (_label, token) => {
    await rejects(token, 'malformed');
  });

  it.each([
    ['undefined', undefined],
    ['null', null],
    ['a number', 42],
    ['an object', { token: 'x' }],
    ['an array', ['a', 'b', 'c']],
  ])('rejects %s (not a string) as malformed', async (_label, value) => {
    await expectAuthError(verifier.verify(value as unknown as string), 'malformed');
  });
});

describe('algorithm confusion', () => {
  it('alg none (empty signature) is unsupported_algorithm', async () => {
    await rejects(fake.hostile.algNone(), 'unsupported_algorithm');
  });

  it.each(['None', 'NONE', 'nOnE'])('alg %s is unsupported_algorithm', async (alg) => {
    const [, payload] = (await mint()).split('.');
    await rejects(`${b64json({ alg, kid: fake.current.kid })}.${payload}.`, 'unsupported_algorithm');
  });

  it('HS256 signed with the public key (SPKI PEM or modulus) is unsupported_algorithm', async () => {
    await rejects(await fake.hostile.hs256WithPublicKey(), 'unsupported_algorithm');
    await rejects(await fake.hostile.hs256WithPublicKey({}, 'n'), 'unsupported_algorithm');
  });

  it('ES256 and PS256 under a published kid are unsupported_algorithm', async () => {
    await rejects(await fake.hostile.otherAlg('ES256'), 'unsupported_algorithm');
    await rejects(await fake.hostile.otherAlg('PS256'), 'unsupported_algorithm');
  });

  it.each(['RS384', 'RS512', 'HS512', 'EdDSA', 'rs256'])('alg %s is unsupported_algorithm', async (alg) => {
    const [, payload, sig] = (await mint()).split('.');
    await rejects(`${b64json({ alg, kid: fake.current.kid })}.${payload}.${sig}`, 'unsupported_algorithm');
  });
});

describe('signature', () => {
  it('a token signed by another key under a published kid is bad_signature', async () => {
    await rejects(await fake.hostile.wrongKey(), 'bad_signature');
  });

  it('a tampered payload is bad_signature', async () => {
    await rejects(await fake.hostile.tamperedPayload(), 'bad_signature');
    await rejects(await fake.hostile.tamperedPayload({ sub: 'someone-else' }), 'bad_signature');
  });

  it('a tampered header (kid swapped to another published key) is bad_signature', async () => {
    const other = await fake.rotate();
    const token = await mint({}, {}, { key: fake.published[1]! });
    const [, p, s] = token.split('.');
    await rejects(`${b64json({ alg: 'RS256', kid: other.kid, typ: 'JWT' })}.${p}.${s}`, 'bad_signature');
  });

  it('a flipped signature bit, a truncated or an empty signature is bad_signature', async () => {
    const token = await mint();
    const [h, p, s] = token.split('.') as [string, string, string];
    const sig = Buffer.from(s, 'base64url');
    sig[10] = sig[10]! ^ 1;
    await rejects(`${h}.${p}.${sig.toString('base64url')}`, 'bad_signature');
    await rejects(`${h}.${p}.${s.slice(0, -4)}`, 'bad_signature');
    await rejects(`${h}.${p}.`, 'bad_signature');
  });

  it('an attacker key embedded in the header (jwk) is not used', async () => {
    const rogue = await fake.newKey();
    await rejects(await mint({}, { kid: rogue.kid, jwk: rogue.publicJwk }, { key: rogue }), 'unknown_key');
    await rejects(await mint({}, { kid: fake.current.kid, jwk: rogue.publicJwk }, { key: rogue }), 'bad_signature');
  });

  it('an unknown kid is unknown_key', async () => {
    await rejects(await fake.hostile.unknownKid(), 'unknown_key');
  });

  it('an unknown critical header is malformed', async () => {
    const header = { alg: 'RS256', kid: fake.current.kid, crit: ['urn:example:unknown'], 'urn:example:unknown': true };
    await rejects(await fake.signRaw(header, JSON.stringify(fake.claims(nowS()))), 'malformed');
    // The same raw signer with an honest header is accepted (so the rejection above is about crit).
    await expect(verifier.verify(await fake.signRaw({ alg: 'RS256', kid: fake.current.kid }, JSON.stringify(fake.claims(nowS()))))).resolves.toEqual(alice());
  });

  it('a signed payload that is not a JSON object is malformed', async () => {
    await rejects(await fake.mintRaw('[]'), 'malformed');
    await rejects(await fake.mintRaw('"a string"'), 'malformed');
    await rejects(await fake.mintRaw('{"sub":'), 'malformed');
  });
});

describe('issuer and audience', () => {
  it.each([
    ['another issuer', 'https://evil.example'],
    ['a trailing slash', 'https://accounts.google.com/'],
    ['http', 'http://accounts.google.com'],
    ['other case', 'https://Accounts.Google.com'],
    ['an array', ['https://accounts.google.com']],
    ['a number', 1],
  ])('iss %s is wrong_issuer', async (_label, iss) => {
    await rejects(await mint({ iss }), 'wrong_issuer');
  });

  it('missing iss is missing_claim', async () => {
    await rejects(await mint({ iss: undefined }), 'missing_claim');
  });

  it.each([
    ['another client', OTHER_CLIENT],
    ['an empty array', []],
    ['a number', 7],
    ['only other clients', [OTHER_CLIENT, ANDROID_CLIENT]],
  ])('aud %s is wrong_audience', async (_label, aud) => {
    await rejects(await mint({ aud }), 'wrong_audience');
  });

  it('missing aud is missing_claim', async () => {
    await rejects(await mint({ aud: undefined }), 'missing_claim');
  });

  it('an extra audience we do not trust is untrusted_audience', async () => {
    await rejects(await mint({ aud: [CLIENT, OTHER_CLIENT] }), 'untrusted_audience');
    await rejects(await mint({ aud: [OTHER_CLIENT, CLIENT] }), 'untrusted_audience');
    await rejects(await mint({ aud: [CLIENT, 42] }), 'untrusted_audience');
  });

  it('several audiences, all trusted: azp, when present, must be trusted too', async () => {
    const v = verifierWith({ clientIds: [CLIENT, OTHER_CLIENT] });
    await expect(v.verify(await mint({ aud: [CLIENT, OTHER_CLIENT], azp: OTHER_CLIENT }))).resolves.toEqual(alice());
    await expect(v.verify(await mint({ aud: [CLIENT, OTHER_CLIENT], azp: undefined }))).resolves.toEqual(alice());
    await rejects(await mint({ aud: [CLIENT, OTHER_CLIENT], azp: ANDROID_CLIENT }), 'untrusted_audience', undefined, v);
    await rejects(await mint({ aud: [CLIENT, OTHER_CLIENT], azp: 5 }), 'untrusted_audience', undefined, v);
  });

  it('a single audience with azp = the mobile app client (Google\'s normal shape) is accepted', async () => {
    await expect(verifier.verify(await mint({ aud: CLIENT, azp: ANDROID_CLIENT }))).resolves.toEqual(alice());
    await expect(verifier.verify(await mint({ aud: [CLIENT], azp: ANDROID_CLIENT }))).resolves.toEqual(alice());
  });
});

describe('time', () => {
  it('expired beyond the 60 s skew is expired', async () => {
    await rejects(await mint({}, {}, { iat: nowS() - 3600 - 61 }), 'expired');
    await rejects(await mint({}, {}, { iat: nowS() - 86_400 }), 'expired');
  });

  it('just expired within the 60 s skew is accepted', async () => {
    await expect(verifier.verify(await mint({}, {}, { iat: nowS() - 3600 - 30 }))).resolves.toEqual(alice({ iat: nowS() - 3600 - 30 }));
    await expect(verifier.verify(await mint({}, {}, { iat: nowS() - 3600 - 59 }))).resolves.toEqual(alice({ iat: nowS() - 3600 - 59 }));
  });

  it('iat more than 60 s in the future is issued_in_future; within the skew it is accepted', async () => {
    await rejects(await mint({}, {}, { iat: nowS() + 120 }), 'issued_in_future');
    await rejects(await mint({}, {}, { iat: nowS() + 61 }), 'issued_in_future');
    await expect(verifier.verify(await mint({}, {}, { iat: nowS() + 30 }))).resolves.toEqual(alice({ iat: nowS() + 30 }));
  });

  it('nbf beyond the skew is issued_in_future', async () => {
    await rejects(await mint({ nbf: nowS() + 300 }), 'issued_in_future');
    await expect(verifier.verify(await mint({ nbf: nowS() + 30 }))).resolves.toEqual(alice());
  });

  it('a lifetime over one day is lifetime_too_long; exactly one day is accepted', async () => {
    await rejects(await mint({}, {}, { lifetime: 86_400 + 1 }), 'lifetime_too_long');
    await rejects(await mint({}, {}, { lifetime: 365 * 86_400 }), 'lifetime_too_long');
    await expect(verifier.verify(await mint({}, {}, { lifetime: 86_400 }))).resolves.toEqual(alice({ lifetime: 86_400 }));
  });

  it('the verifier follows the injected clock', async () => {
    const token = await mint();
    clock.advance(3600_000 + 61_000);
    await rejects(token, 'expired');
    clock.advance(-(3600_000 + 61_000 + 120_000));
    await rejects(token, 'issued_in_future');
  });

  it('exp or iat missing is missing_claim', async () => {
    await rejects(await mint({ exp: undefined }), 'missing_claim');
    await rejects(await mint({ iat: undefined }), 'missing_claim');
  });

  it('exp or iat of another type, infinite, or exp not after iat is malformed', async () => {
    await rejects(await mint({ exp: String(nowS() + 3600) }), 'malformed');
    await rejects(await mint({ iat: String(nowS()) }), 'malformed');
    await rejects(await mint({ exp: null }), 'malformed');
    await rejects(await mint({ iat: nowS() + 10, exp: nowS() + 10 }), 'malformed');
    await rejects(await mint({ iat: nowS() + 20, exp: nowS() + 10 }), 'malformed');
    const base = fake.claims(nowS());
    const raw = JSON.stringify({ ...base, exp: 0 }).replace('"exp":0', '"exp":1e400');
    await rejects(await fake.mintRaw(raw), 'malformed');
  });
});

describe('subject', () => {
  it('missing or empty sub is missing_claim', async () => {
    await rejects(await mint({ sub: undefined }), 'missing_claim');
    await rejects(await mint({ sub: '' }), 'missing_claim');
  });

  it.each([
    ['a number', 110169484474386276334],
    ['null', null],
    ['an object', { id: '1' }],
    ['an array', ['1']],
    ['too long', 's'.repeat(256)],
  ])('sub that is %s is malformed', async (_label, sub) => {
    await rejects(await mint({ sub }), 'malformed');
  });

  it('a 255-character sub is accepted', async () => {
    await expect(verifier.verify(await mint({ sub: 's'.repeat(255) }))).resolves.toMatchObject({ sub: 's'.repeat(255) });
  });
});

describe('hosted domain', () => {
  const v = () => verifierWith({ hostedDomains: ['Example.com', 'corp.example'] });

  it('accepts an allowed hd, case-insensitively, and returns it as sent', async () => {
    await expect(v().verify(await mint({ hd: 'example.com' }))).resolves.toMatchObject({ hostedDomain: 'example.com' });
    await expect(v().verify(await mint({ hd: 'EXAMPLE.COM' }))).resolves.toMatchObject({ hostedDomain: 'EXAMPLE.COM' });
    await expect(v().verify(await mint({ hd: 'corp.example' }))).resolves.toEqual(alice({ hostedDomain: 'corp.example' }));
  });

  it.each([
    ['another domain', 'other.com'],
    ['a subdomain', 'evil.example.com'],
    ['a suffix match', 'notexample.com'],
    ['absent (a consumer account)', undefined],
    ['empty', ''],
    ['a number', 1],
    ['an array', ['example.com']],
  ])('hd %s is hosted_domain_not_allowed', async (_label, hd) => {
    await rejects(await mint({ hd }), 'hosted_domain_not_allowed', undefined, v());
  });

  it('without an allow-list, any hd (or none) is accepted', async () => {
    await expect(verifier.verify(await mint({ hd: 'whatever.org' }))).resolves.toMatchObject({ hostedDomain: 'whatever.org' });
    await expect(verifier.verify(await mint({ hd: 42 }))).resolves.toMatchObject({ hostedDomain: null });
  });
});

describe('nonce', () => {
  const nonce = 'n-0S6_WzA2Mj';
  const sha = createHash('sha256').update(nonce).digest('hex');

  it('accepts the raw nonce', async () => {
    await expect(verifier.verify(await mint({ nonce }), { nonce })).resolves.toEqual(alice());
  });

  it('accepts the lowercase SHA-256 hex of the nonce', async () => {
    await expect(verifier.verify(await mint({ nonce: sha }), { nonce })).resolves.toEqual(alice());
  });

  it.each([
    ['another nonce', 'n-0S6_WzA2Mk'],
    ['a prefix', nonce.slice(0, -1)],
    ['a longer value', `${nonce}x`],
    ['the uppercase hex', sha.toUpperCase()],
    ['base64 of the hash', createHash('sha256').update(nonce).digest('base64url')],
    ['a number', 12345],
    ['an array', [nonce]],
    ['empty', ''],
  ])('rejects %s as nonce_mismatch', async (_label, tokenNonce) => {
    await rejects(await mint({ nonce: tokenNonce }), 'nonce_mismatch', { nonce });
  });

  it('a token without nonce when the client sent one is nonce_mismatch', async () => {
    await rejects(await mint(), 'nonce_mismatch', { nonce });
  });

  it('an empty client nonce matches nothing', async () => {
    await rejects(await mint({ nonce: '' }), 'nonce_mismatch', { nonce: '' });
  });

  it("when the client sends none, the token's nonce is ignored", async () => {
    await expect(verifier.verify(await mint({ nonce: 'anything' }))).resolves.toEqual(alice());
    await expect(verifier.verify(await mint({ nonce: 'anything' }), { nonce: null })).resolves.toEqual(alice());
    await expect(verifier.verify(await mint({ nonce: 42 }), {})).resolves.toEqual(alice());
  });
});

describe('odd-typed profile claims', () => {
  it.each([
    [{ email: 42 }, { email: null, emailVerified: false }],
    [{ email: ['a@b.c'] }, { email: null, emailVerified: false }],
    [{ email: undefined, email_verified: true }, { email: null, emailVerified: false }],
    [{ email_verified: 'true' }, { email: 'alice@example.com', emailVerified: true }],
    [{ email_verified: 'false' }, { emailVerified: false }],
    [{ email_verified: 'yes' }, { emailVerified: false }],
    [{ email_verified: 1 }, { emailVerified: false }],
    [{ email_verified: null }, { emailVerified: false }],
    [{ name: { first: 'A' } }, { name: null }],
    [{ given_name: 7, family_name: false }, { givenName: null, familyName: null }],
    [{ picture: ['https://x'] }, { picture: null }],
    [{ locale: 1 }, { locale: null }],
    [{ name: '' }, { name: null }],
  ])('%j → %j', async (claims, expected) => {
    await expect(verifier.verify(await mint(claims))).resolves.toMatchObject(expected);
  });

  it('a payload full of odd types never throws anything but AuthError', async () => {
    const weird = { email: {}, email_verified: [], name: 1, given_name: null, family_name: [], picture: 0, locale: {}, hd: [], azp: {}, nonce: {}, __proto__: { x: 1 } };
    await expect(verifier.verify(await fake.mintRaw(JSON.stringify({ ...fake.claims(nowS()), ...weird })))).resolves.toMatchObject({ email: null });
  });
});

describe('robustness', () => {
  it('random mutations of a valid token only ever yield AuthError', async () => {
    const token = await mint();
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ %';
    const reasons = new Set<string>();
    for (let i = 0; i < 300; i++) {
      const chars = token.split('');
      const edits = 1 + (i % 4);
      for (let e = 0; e < edits; e++) {
        const pos = randomBytes(2).readUInt16BE() % chars.length;
        const op = i % 3;
        const ch = alphabet[randomBytes(1)[0]! % alphabet.length]!;
        if (op === 0) chars[pos] = ch;
        else if (op === 1) chars.splice(pos, 1);
        else chars.splice(pos, 0, ch);
      }
      const mutated = chars.join('');
      if (mutated === token) continue;
      const err = await verifier.verify(mutated).then(
        () => null,
        (e: unknown) => e,
      );
      // A mutation can only be accepted if it did not change what was signed (e.g. never here).
      expect(err).toBeInstanceOf(AuthError);
      reasons.add((err as AuthError).reason);
    }
    expect(reasons.has('bad_signature') || reasons.has('malformed')).toBe(true);
  });

  it('keys_unavailable surfaces as ServiceUnavailableError, not AuthError', async () => {
    const down = await FakeGoogle.start({ clientId: CLIENT, now: clock.now });
    down.mode = 'down';
    const stores = createMemoryStores();
    const source = providerKeys(google, { jwksUri: down.jwksUri, store: stores.keySets, locks: stores.locks, clock: clockWithNow(clock.now), logger: captureLogger() });
    const v = googleVerifier({ keys: source, clientIds: [CLIENT], now: clock.now });
    await expectUnavailable(v.verify(await down.mint()));
    await down.close();
  });

  it('an unexpected failure of the key resolver becomes keys_unavailable', async () => {
    const v = googleVerifier({
      keys: { getKey: async () => Promise.reject(new Error('boom')) },
      clientIds: [CLIENT],
      now: clock.now,
    });
    const err = await v.verify(await mint()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServiceUnavailableError);
  });

  it('a resolver returning an unusable key yields bad_signature, not a crash', async () => {
    const { publicKey } = await jose.generateKeyPair('ES256');
    const v = googleVerifier({ keys: { getKey: async () => publicKey }, clientIds: [CLIENT], now: clock.now });
    await expectAuthError(v.verify(await mint()), 'bad_signature');
  });

  it('no log line ever contains a token', () => {
    expect(seenTokens.length).toBeGreaterThan(50);
    const text = log.text();
    for (const t of seenTokens) for (const part of t.split('.')) if (part.length > 16) expect(text).not.toContain(part);
  });
});
