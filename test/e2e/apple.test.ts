import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { FakeApple } from '../support/fake-apple.js';
import { FakeGoogle } from '../support/fake-google.js';
import { uniquePrefix, usePrivateRedis } from '../support/env.js';
import { bearer, SIGN_IN, SIGN_IN_APPLE, startTestGateway, type AuthPayloadShape, type GqlResponse, type TestGateway } from '../support/gateway.js';

/**
 * Sign in with Apple and accounts with several identities over GraphQL HTTP, against a fake
 * Apple issuer (RSA key set on loopback) and a fake Google one, on a real Redis.
 */
const redis = usePrivateRedis();
const BUNDLE_ID = 'com.example.app';
const SERVICES_ID = 'com.example.web';
const ROUTER_SECRET = 'r'.repeat(40);
let apple: FakeApple;
let google: FakeGoogle;
let gw: TestGateway;
let raw: Redis;
let prefix: string;
let n = 0;

const sub = () => `00${1000 + ++n}.${createHash('sha256').update(String(Math.random())).digest('hex').slice(0, 32)}.0${n}`;
const codeOf = (r: GqlResponse) => r.body.errors?.map((e) => e.extensions);
const unauth = (reason: string) => [{ code: 'UNAUTHENTICATED', reason }];

async function appleSignIn(g: TestGateway, vars: Record<string, unknown>) {
  return g.gql<{ signInWithApple: AuthPayloadShape & { user: { identities: Record<string, unknown>[] } } }>(SIGN_IN_APPLE, vars);
}

beforeAll(async () => {
  apple = await FakeApple.start({ clientId: BUNDLE_ID });
  google = await FakeGoogle.start();
  prefix = uniquePrefix();
  gw = await startTestGateway({ redisUrl: redis.url, prefix, google, apple, env: { APPLE_CLIENT_IDS: `${BUNDLE_ID},${SERVICES_ID}`, ROUTER_SHARED_SECRET: ROUTER_SECRET } });
  raw = new Redis(redis.url);
});
afterAll(async () => {
  await gw?.close();
  await apple?.close();
  await google?.close();
  raw?.disconnect();
});

describe('signInWithApple', () => {
  it('signs in with a native app’s identity token (bundle id) or a Services ID’s, string booleans read, the relay address kept', async () => {
    const s = sub();
    const r = await appleSignIn(gw, { identityToken: await apple.mint({ sub: s }), authorizationCode: 'c0de.0.abcd' });
    expect(r.body.errors).toBeUndefined();
    const p = r.body.data!.signInWithApple;
    expect(p).toMatchObject({ isNewUser: true, user: { email: 'x7k2p9q4rs@privaterelay.appleid.com', emailVerified: true, name: null, picture: null } });
    expect(p.user.identities).toEqual([{ provider: 'APPLE', email: 'x7k2p9q4rs@privaterelay.appleid.com', emailVerified: true, isPrivateEmail: true, linkedAt: p.user.createdAt }]);
    const web = await appleSignIn(gw, { identityToken: await apple.mint({ sub: s, aud: SERVICES_ID, email_verified: true, is_private_email: false }) });
    expect(web.body.data!.signInWithApple).toMatchObject({ isNewUser: false, user: { id: p.user.id, identities: [{ isPrivateEmail: false, emailVerified: true }] } });
    expect(await raw.hget(`${prefix}ids:{${p.user.id}}`, 'apple.rs')).toBe('2'); // real_user_status kept with the identity
  });

  it.each([
    ['email_verified "false"', { email_verified: 'false' }, { emailVerified: false, isPrivateEmail: true }],
    ['email_verified false, is_private_email absent', { email_verified: false, is_private_email: undefined }, { emailVerified: false, isPrivateEmail: false }],
    ['no email at all', { email: undefined, email_verified: undefined, is_private_email: undefined }, { email: null, emailVerified: false, isPrivateEmail: false }],
  ])('reads %s', async (_label, claims, expected) => {
    const r = await appleSignIn(gw, { identityToken: await apple.mint({ sub: sub(), ...claims }) });
    expect(r.body.errors).toBeUndefined();
    expect(r.body.data!.signInWithApple.user.identities[0]).toMatchObject(expected);
  });

  it.each([
    ['email_verified "TRUE"', { email_verified: 'TRUE' }],
    ['email_verified "yes"', { email_verified: 'yes' }],
    ['email_verified 1', { email_verified: 1 }],
    ['email_verified null', { email_verified: null }],
    ['is_private_email "1"', { is_private_email: '1' }],
    ['is_private_email an object', { is_private_email: {} }],
    ['email_verified ["true"] in a token without an email', { email: undefined, email_verified: ['true'] }],
  ])('refuses %s as malformed', async (_label, claims) => {
    expect(codeOf(await appleSignIn(gw, { identityToken: await apple.mint({ sub: sub(), ...claims }) }))).toEqual(unauth('malformed'));
  });

  it.each([
    ['iss with a trailing slash', { iss: 'https://appleid.apple.com/' }, 'wrong_issuer'],
    ['iss over http', { iss: 'http://appleid.apple.com' }, 'wrong_issuer'],
    ['iss without scheme', { iss: 'appleid.apple.com' }, 'wrong_issuer'],
    ['Google’s iss', { iss: 'https://accounts.google.com' }, 'wrong_issuer'],
    ['no iss', { iss: undefined }, 'missing_claim'],
    ['another app’s aud', { aud: 'com.example.other' }, 'wrong_audience'],
    ['Google’s client id as aud', { aud: 'test-client.apps.googleusercontent.com' }, 'wrong_audience'],
    ['an untrusted extra aud', { aud: [BUNDLE_ID, 'com.example.other'] }, 'untrusted_audience'],
    ['no sub', { sub: undefined }, 'missing_claim'],
    ['an empty sub', { sub: '' }, 'missing_claim'],
    ['a numeric sub', { sub: 1234 }, 'malformed'],
  ])('refuses %s (%s)', async (_label, claims, reason) => {
    expect(codeOf(await appleSignIn(gw, { identityToken: await apple.mint({ sub: sub(), ...claims }) }))).toEqual(unauth(reason));
  });

  it('applies the time rules: 60 s of skew, a lifetime of at most a day', async () => {
    const now = Math.floor(Date.now() / 1000);
    const mint = (iat: number, lifetime = 600) => apple.mint({ sub: sub() }, {}, { iat, lifetime });
    expect(codeOf(await appleSignIn(gw, { identityToken: await mint(now - 600 - 90) }))).toEqual(unauth('expired'));
    expect((await appleSignIn(gw, { identityToken: await mint(now - 600 - 30) })).body.errors).toBeUndefined();
    expect(codeOf(await appleSignIn(gw, { identityToken: await mint(now + 120) }))).toEqual(unauth('issued_in_future'));
    expect((await appleSignIn(gw, { identityToken: await mint(now + 30) })).body.errors).toBeUndefined();
    expect(codeOf(await appleSignIn(gw, { identityToken: await mint(now, 86_401) }))).toEqual(unauth('lifetime_too_long'));
    expect((await appleSignIn(gw, { identityToken: await mint(now, 86_400) })).body.errors).toBeUndefined();
  });

  it('accepts RS256 only, and only Apple’s published keys', async () => {
    expect(codeOf(await appleSignIn(gw, { identityToken: apple.hostile.algNone({ sub: sub() }) }))).toEqual(unauth('unsupported_algorithm'));
    expect(codeOf(await appleSignIn(gw, { identityToken: await apple.hostile.hs256WithPublicKey({ sub: sub() }) }))).toEqual(unauth('unsupported_algorithm'));
    expect(codeOf(await appleSignIn(gw, { identityToken: await apple.hostile.otherAlg('ES256', { sub: sub() }) }))).toEqual(unauth('unsupported_algorithm'));
    expect(codeOf(await appleSignIn(gw, { identityToken: await apple.hostile.wrongKey({ sub: sub() }) }))).toEqual(unauth('bad_signature'));
    expect(codeOf(await appleSignIn(gw, { identityToken: await apple.hostile.unknownKid() }))).toEqual(unauth('unknown_key'));
    // Google's keys sign nothing for Apple, and the reverse.
    expect(codeOf(await appleSignIn(gw, { identityToken: await google.mint({ iss: 'https://appleid.apple.com', aud: BUNDLE_ID }) }))).toEqual(unauth('unknown_key'));
    expect(codeOf(await gw.gql(SIGN_IN, { idToken: await apple.mint({ iss: 'https://accounts.google.com', aud: google.clientId }) }))).toEqual(unauth('unknown_key'));
  });

  it('nonces as for Google: raw or SHA-256 hex in the token; server nonces single use', async () => {
    const raw1 = 'apple-raw-nonce-1';
    const hashed = createHash('sha256').update(raw1).digest('hex');
    expect((await appleSignIn(gw, { identityToken: await apple.mint({ sub: sub(), nonce: raw1 }), nonce: raw1 })).body.errors).toBeUndefined();
    expect((await appleSignIn(gw, { identityToken: await apple.mint({ sub: sub(), nonce: hashed }), nonce: raw1 })).body.errors).toBeUndefined();
    expect(codeOf(await appleSignIn(gw, { identityToken: await apple.mint({ sub: sub(), nonce: hashed }), nonce: hashed.toUpperCase() }))).toEqual(unauth('nonce_mismatch'));
    expect(codeOf(await appleSignIn(gw, { identityToken: await apple.mint({ sub: sub() }), nonce: raw1 }))).toEqual(unauth('nonce_mismatch'));
    const issued = (await gw.gql<{ createSignInNonce: { nonce: string } }>('mutation { createSignInNonce { nonce } }')).body.data!.createSignInNonce.nonce;
    const s = sub();
    const token = await apple.mint({ sub: s, nonce: createHash('sha256').update(issued).digest('hex') });
    expect((await appleSignIn(gw, { identityToken: token, nonce: issued })).body.errors).toBeUndefined();
    expect(codeOf(await appleSignIn(gw, { identityToken: await apple.mint({ sub: s, nonce: issued }), nonce: issued }))).toEqual(unauth('invalid_nonce'));
  });

  it('REQUIRE_SIGN_IN_NONCE and REJECT_REPLAYED_ID_TOKENS apply to Apple', async () => {
    const strict = await startTestGateway({ redisUrl: redis.url, prefix: uniquePrefix(), google, apple, env: { REQUIRE_SIGN_IN_NONCE: 'true' } });
    const once = await startTestGateway({ redisUrl: redis.url, prefix: uniquePrefix(), google, apple, env: { REJECT_REPLAYED_ID_TOKENS: 'true' } });
    try {
      const s = sub();
      expect(codeOf(await appleSignIn(strict, { identityToken: await apple.mint({ sub: s, nonce: 'client-nonce' }), nonce: 'client-nonce' }))).toEqual(unauth('nonce_required'));
      const issued = (await strict.gql<{ createSignInNonce: { nonce: string } }>('mutation { createSignInNonce { nonce } }')).body.data!.createSignInNonce.nonce;
      expect((await appleSignIn(strict, { identityToken: await apple.mint({ sub: s, nonce: issued }), nonce: issued })).body.errors).toBeUndefined();
      const token = await apple.mint({ sub: s });
      expect((await appleSignIn(once, { identityToken: token })).body.errors).toBeUndefined();
      expect(codeOf(await appleSignIn(once, { identityToken: token }))).toEqual(unauth('replayed'));
    } finally {
      await strict.close();
      await once.close();
    }
  });

  it('keeps the name the app sends on the first sign-in only; a name over 256 characters is BAD_USER_INPUT', async () => {
    const s = sub();
    const first = await appleSignIn(gw, { identityToken: await apple.mint({ sub: s }), givenName: 'Ada', familyName: 'Lovelace' });
    expect(first.body.data!.signInWithApple.user).toMatchObject({ name: 'Ada Lovelace', givenName: 'Ada', familyName: 'Lovelace' });
    const again = await appleSignIn(gw, { identityToken: await apple.mint({ sub: s }), givenName: 'Mallory', familyName: '' });
    expect(again.body.data!.signInWithApple.user).toMatchObject({ name: 'Ada Lovelace', givenName: 'Ada', familyName: 'Lovelace' });
    const long = await appleSignIn(gw, { identityToken: await apple.mint({ sub: s }), givenName: 'x'.repeat(257) });
    expect(codeOf(long)).toEqual([{ code: 'BAD_USER_INPUT' }]);
  });

  it('counts Apple sign-ins with provider="apple"', async () => {
    const text = await (await fetch(`${gw.url}/metrics`)).text();
    expect(text).toMatch(/^authgw_sign_ins_total\{provider="apple",outcome="success",reason="new_user"\} [1-9]\d*$/m);
    expect(text).toMatch(/^authgw_sign_ins_total\{provider="apple",outcome="rejected",reason="malformed"\} [1-9]\d*$/m);
    expect(text).toMatch(/^authgw_id_token_verification_seconds_count\{provider="apple",outcome="valid"\} [1-9]\d*$/m);
    // The first load, and one refetch for the unknown kid of the hostile-key test.
    expect(text).toMatch(/^authgw_provider_key_fetches_total\{provider="apple"\} 2$/m);
  });
});

describe('Apple off (APPLE_CLIENT_IDS unset)', () => {
  it('signInWithApple and linkIdentity(APPLE) answer PROVIDER_NOT_CONFIGURED and write nothing; Google works as before', async () => {
    const offPrefix = uniquePrefix();
    const off = await startTestGateway({ redisUrl: redis.url, prefix: offPrefix, google });
    try {
      const r = await appleSignIn(off, { identityToken: await apple.mint({ sub: sub() }) });
      expect([r.status, r.body.data, codeOf(r)]).toEqual([200, null, [{ code: 'PROVIDER_NOT_CONFIGURED' }]]);
      // Google's key set may land at any moment (the gateway fetches it at start-up): only Apple's must not.
      expect((await raw.keys(`${offPrefix}*`)).filter((key) => /:(idn|rl|user|ids):|:jwks:apple$/.test(key))).toEqual([]);
      const g = (await off.gql<{ signInWithGoogle: AuthPayloadShape }>(SIGN_IN, { idToken: await google.mint({ sub: `off-${n}` }) })).body.data!.signInWithGoogle;
      const link = await off.gql(LINK, { provider: 'APPLE', idToken: await apple.mint({ sub: sub() }) }, bearer(g.accessToken));
      expect(codeOf(link)).toEqual([{ code: 'PROVIDER_NOT_CONFIGURED' }]);
    } finally {
      await off.close();
    }
  });
});

const LINK = `mutation Link($provider: IdentityProvider!, $idToken: String!, $nonce: String) { linkIdentity(provider: $provider, idToken: $idToken, nonce: $nonce) { id identities { provider email isPrivateEmail } } }`;
const UNLINK = `mutation Unlink($provider: IdentityProvider!) { unlinkIdentity(provider: $provider) { id identities { provider } } }`;
const ME = `{ me { id email identities { provider email emailVerified isPrivateEmail linkedAt } } }`;

describe('accounts with several identities over GraphQL', () => {
  async function googleAccount(g = gw) {
    const s = `multi-${++n}`;
    const p = (await g.gql<{ signInWithGoogle: AuthPayloadShape }>(SIGN_IN, { idToken: await google.mint({ sub: s }) })).body.data!.signInWithGoogle;
    return { sub: s, ...p };
  }

  it('links Apple to a Google account: both sign in to it; unlinking Google leaves Apple; the last one cannot go', async () => {
    const account = await googleAccount();
    const s = sub();
    const linked = await gw.gql<{ linkIdentity: { id: string; identities: { provider: string }[] } }>(LINK, { provider: 'APPLE', idToken: await apple.mint({ sub: s }) }, bearer(account.accessToken));
    expect(linked.body).toEqual({
      data: {
        linkIdentity: {
          id: account.user.id,
          identities: [
            { provider: 'GOOGLE', email: 'alice@example.com', isPrivateEmail: false },
            { provider: 'APPLE', email: 'x7k2p9q4rs@privaterelay.appleid.com', isPrivateEmail: true },
          ],
        },
      },
    });
    const viaApple = await appleSignIn(gw, { identityToken: await apple.mint({ sub: s }) });
    expect(viaApple.body.data!.signInWithApple).toMatchObject({ isNewUser: false, user: { id: account.user.id, name: 'Alice Example' } });
    expect((await gw.gql(UNLINK, { provider: 'GOOGLE' }, bearer(account.accessToken))).body).toEqual({ data: { unlinkIdentity: { id: account.user.id, identities: [{ provider: 'APPLE' }] } } });
    expect(codeOf(await gw.gql(UNLINK, { provider: 'APPLE' }, bearer(account.accessToken)))).toEqual([{ code: 'LAST_IDENTITY' }]);
    // Google now signs in to a new account.
    const again = await gw.gql<{ signInWithGoogle: AuthPayloadShape }>(SIGN_IN, { idToken: await google.mint({ sub: account.sub }) });
    expect(again.body.data!.signInWithGoogle.isNewUser).toBe(true);
  });

  it('IDENTITY_ALREADY_LINKED and PROVIDER_ALREADY_LINKED change nothing; linking needs a signed-in caller', async () => {
    const [mine, theirs] = [await googleAccount(), await googleAccount()];
    const s = sub();
    expect((await gw.gql(LINK, { provider: 'APPLE', idToken: await apple.mint({ sub: s }) }, bearer(theirs.accessToken))).body.errors).toBeUndefined();
    expect(codeOf(await gw.gql(LINK, { provider: 'APPLE', idToken: await apple.mint({ sub: s }) }, bearer(mine.accessToken)))).toEqual([{ code: 'IDENTITY_ALREADY_LINKED' }]);
    expect(codeOf(await gw.gql(LINK, { provider: 'GOOGLE', idToken: await google.mint({ sub: `other-${n}` }) }, bearer(mine.accessToken)))).toEqual([{ code: 'PROVIDER_ALREADY_LINKED' }]);
    expect((await gw.gql<{ me: { identities: unknown[] } }>(ME, undefined, bearer(mine.accessToken))).body.data!.me.identities).toHaveLength(1);
    expect(codeOf(await gw.gql(LINK, { provider: 'APPLE', idToken: await apple.mint({ sub: sub() }) }))).toEqual(unauth('authentication_required'));
    expect(codeOf(await gw.gql(UNLINK, { provider: 'APPLE' }))).toEqual(unauth('authentication_required'));
    // The token is checked like a sign-in's (here: another app's audience), and a bad provider is a validation error.
    expect(codeOf(await gw.gql(LINK, { provider: 'APPLE', idToken: await apple.mint({ sub: sub(), aud: 'com.example.other' }) }, bearer(mine.accessToken)))).toEqual(unauth('wrong_audience'));
    expect((await gw.gql(LINK, { provider: 'GITHUB', idToken: 'x' }, bearer(mine.accessToken))).status).toBe(400);
  });

  it('never links by e-mail: an Apple identity with the Google account’s address is another account', async () => {
    const account = await googleAccount();
    const r = await appleSignIn(gw, { identityToken: await apple.mint({ sub: sub(), email: 'alice@example.com', is_private_email: 'false' }) });
    expect(r.body.data!.signInWithApple).toMatchObject({ isNewUser: true, user: { email: 'alice@example.com' } });
    expect(r.body.data!.signInWithApple.user.id).not.toBe(account.user.id);
  });

  it('identities are private through _entities: the owner and the trusted router see them, anyone else gets FORBIDDEN', async () => {
    const [owner, other] = [await googleAccount(), await googleAccount()];
    const q = `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id identities { provider } } } }`;
    const vars = { r: [{ __typename: 'User', id: owner.user.id }] };
    expect((await gw.gql(q, vars, bearer(owner.accessToken))).body).toEqual({ data: { _entities: [{ id: owner.user.id, identities: [{ provider: 'GOOGLE' }] }] } });
    expect((await gw.gql(q, vars, { 'router-authorization': ROUTER_SECRET })).body.data).toEqual({ _entities: [{ id: owner.user.id, identities: [{ provider: 'GOOGLE' }] }] });
    const foreign = await gw.gql(q, vars, bearer(other.accessToken));
    expect(foreign.body.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
  });

  it('deleteMyAccount removes the account and the links of all its identities: each signs in to a new account', async () => {
    const account = await googleAccount();
    const s = sub();
    await gw.gql(LINK, { provider: 'APPLE', idToken: await apple.mint({ sub: s }) }, bearer(account.accessToken));
    expect((await gw.gql('mutation { deleteMyAccount }', undefined, bearer(account.accessToken))).body).toEqual({ data: { deleteMyAccount: true } });
    const viaApple = await appleSignIn(gw, { identityToken: await apple.mint({ sub: s }) });
    const viaGoogle = await gw.gql<{ signInWithGoogle: AuthPayloadShape }>(SIGN_IN, { idToken: await google.mint({ sub: account.sub }) });
    expect([viaApple.body.data!.signInWithApple.isNewUser, viaGoogle.body.data!.signInWithGoogle.isNewUser]).toEqual([true, true]);
    expect(viaApple.body.data!.signInWithApple.user.id).not.toBe(viaGoogle.body.data!.signInWithGoogle.user.id);
  });
});
