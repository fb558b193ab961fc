import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import type { Counter } from 'prom-client';
import { REVOKE_RETRY_INITIAL_MS } from '../../src/identity/apple/revoker.js';
import { FakeApple } from '../support/fake-apple.js';
import { FakeClock, FakeGoogle } from '../support/fake-google.js';
import { uniquePrefix, usePrivateRedis } from '../support/env.js';
import { bearer, ME, SIGN_IN, SIGN_IN_APPLE, startTestGateway, type AuthPayloadShape, type TestGateway } from '../support/gateway.js';

/**
 * Apple's token endpoints over the public surface, against a fake Apple on loopback and a real
 * Redis: the authorization code exchanged (client secret checked by the fake with the account's
 * public key), the refresh token kept sealed, revoked on deletion and on unlinking, queued while
 * Apple is down and delivered after, across a restart, by one of two instances.
 */
const redis = usePrivateRedis();
const TEAM_ID = 'TEAM123456';
const KEY_ID = 'KEY1234567';
const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const clock = new FakeClock();
let apple: FakeApple;
let google: FakeGoogle;
let raw: Redis;
let prefix: string;
const open: TestGateway[] = [];
let n = 0;

const sub = () => `00${2000 + ++n}.${createHash('sha256').update(String(Math.random())).digest('hex').slice(0, 32)}.0${n}`;
const DELETE = `mutation { deleteMyAccount }`;
const LINK = `mutation Link($provider: IdentityProvider!, $idToken: String!, $authorizationCode: String) { linkIdentity(provider: $provider, idToken: $idToken, authorizationCode: $authorizationCode) { id identities { provider } } }`;
const UNLINK = `mutation Unlink($provider: IdentityProvider!) { unlinkIdentity(provider: $provider) { id identities { provider } } }`;

async function gateway(extra: Record<string, string> = {}, appleOptions = { pollMs: 0, timeoutMs: 1_000 }): Promise<TestGateway> {
  const g = await startTestGateway({
    redisUrl: redis.url,
    prefix,
    google,
    apple,
    now: clock.now,
    appleOptions,
    env: {
      APPLE_TEAM_ID: TEAM_ID,
      APPLE_KEY_ID: KEY_ID,
      APPLE_PRIVATE_KEY: keys.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
      APPLE_TOKEN_ENCRYPTION_KEY: randomBytesKey,
      APPLE_TOKEN_URL: apple.tokenUrl,
      APPLE_REVOKE_URL: apple.revokeUrl,
      ...extra,
    },
  });
  open.push(g);
  return g;
}
const randomBytesKey = randomBytes(32).toString('base64');

async function metric(g: TestGateway, name: string, outcome: string): Promise<number> {
  const m = g.gateway.metrics.registry.getSingleMetric(name) as Counter | undefined;
  return (await m?.get())?.values.find((v) => v.labels.outcome === outcome)?.value ?? 0;
}

async function appleSignIn(g: TestGateway, s: string, code?: string) {
  const r = await g.gql<{ signInWithApple: AuthPayloadShape }>(SIGN_IN_APPLE, { identityToken: await apple.mint({ sub: s }), authorizationCode: code });
  expect(r.body.errors).toBeUndefined();
  return r.body.data!.signInWithApple;
}

beforeAll(async () => {
  apple = await FakeApple.start({ now: clock.now });
  google = await FakeGoogle.start({ now: clock.now });
  apple.trustClientSecretKey(keys.publicKey, TEAM_ID, KEY_ID);
  prefix = uniquePrefix();
  raw = new Redis(redis.url);
});
afterAll(async () => {
  for (const g of open) await g.close();
  await apple?.close();
  await google?.close();
  raw?.disconnect();
});

describe('the authorization code', () => {
  it('is exchanged after the sign-in (client secret, client id, code checked by Apple); the refresh token is kept sealed', async () => {
    const gw = await gateway();
    const s = sub();
    const code = apple.issueCode();
    const p = await appleSignIn(gw, s, code);
    await gw.gateway.settled();
    expect(apple.lastRefusal).toBeNull();
    expect(apple.issued).toHaveLength(1);
    const token = apple.issued[0]!;
    const stored = await raw.hget(`${prefix}ids:{${p.user.id}}`, 'apple.rt');
    expect(stored).toMatch(/^v1\./);
    // Nothing in Redis holds the token or the code in the clear.
    const dump = JSON.stringify(await raw.hgetall(`${prefix}ids:{${p.user.id}}`)) + JSON.stringify(await raw.hgetall(`${prefix}user:{${p.user.id}}`));
    expect(dump).not.toContain(token);
    expect(dump).not.toContain(code);
    expect(await metric(gw, 'authgw_apple_code_exchanges_total', 'stored')).toBe(1);
    // The code is single use at Apple: a second sign-in with it still signs in, and counts a failed exchange.
    await appleSignIn(gw, s, code);
    await gw.gateway.settled();
    expect(await metric(gw, 'authgw_apple_code_exchanges_total', 'failed')).toBe(1);
    expect(gw.logs.join('\n')).not.toContain(code);
    expect(gw.logs.join('\n')).not.toContain(token);
  });

  it('a failing, refusing or hanging Apple never fails the sign-in; each is logged and counted', async () => {
    const gw = await gateway();
    for (const mode of ['down', 'invalid_grant', 'hang'] as const) {
      apple.tokenMode = mode;
      const before = await metric(gw, 'authgw_apple_code_exchanges_total', 'failed');
      const code = apple.issueCode();
      const p = await appleSignIn(gw, sub(), code);
      expect(p.accessToken).toBeTruthy();
      await gw.gateway.settled();
      expect(await metric(gw, 'authgw_apple_code_exchanges_total', 'failed')).toBe(before + 1);
      expect(await raw.hget(`${prefix}ids:{${p.user.id}}`, 'apple.rt')).toBeNull();
      expect(gw.logs.join('\n')).not.toContain(code);
    }
    apple.tokenMode = 'ok';
    expect(gw.logs.some((l) => l.includes('exchanging an Apple authorization code failed') && l.includes('timeout'))).toBe(true);
  });

  it('a sign-in without a code touches nothing of Apple’s; an over-long code is BAD_USER_INPUT', async () => {
    const gw = await gateway();
    const calls = apple.tokenCalls;
    const p = await appleSignIn(gw, sub());
    await gw.gateway.settled();
    expect(apple.tokenCalls).toBe(calls);
    expect(await raw.hexists(`${prefix}ids:{${p.user.id}}`, 'apple.rt')).toBe(0);
    const long = await gw.gql(SIGN_IN_APPLE, { identityToken: await apple.mint({ sub: sub() }), authorizationCode: 'x'.repeat(1025) });
    expect(long.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('linkIdentity(APPLE) with a code keeps the token too', async () => {
    const gw = await gateway();
    const g = await gw.gql<{ signInWithGoogle: AuthPayloadShape }>(SIGN_IN, { idToken: await google.mint({ sub: `g${sub()}` }) });
    const account = g.body.data!.signInWithGoogle;
    const linked = await gw.gql(LINK, { provider: 'APPLE', idToken: await apple.mint({ sub: sub() }), authorizationCode: apple.issueCode() }, bearer(account.accessToken));
    expect(linked.body.errors).toBeUndefined();
    await gw.gateway.settled();
    expect(await raw.hget(`${prefix}ids:{${account.user.id}}`, 'apple.rt')).toMatch(/^v1\./);
  });
});

describe('revocation', () => {
  it('deleteMyAccount with Apple down completes at once; the revocation is queued, survives a restart, and is sent once by one of two instances after Apple is back', async () => {
    let gw = await gateway();
    const p = await appleSignIn(gw, sub(), apple.issueCode());
    await gw.gateway.settled();
    const token = apple.issued.at(-1)!;
    apple.revokeMode = 'down';
    const del = await gw.gql<{ deleteMyAccount: boolean }>(DELETE, {}, bearer(p.accessToken));
    expect(del.body.data?.deleteMyAccount).toBe(true);
    expect((await gw.gql(ME, {}, bearer(p.accessToken))).body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(await raw.exists(`${prefix}user:{${p.user.id}}`)).toBe(0);
    // The sealed token waits in the account's slot, not in the clear.
    const waiting = await raw.hgetall(`${prefix}revoke:{${p.user.id}}`);
    expect(Object.keys(waiting)).toHaveLength(1);
    expect(JSON.stringify(waiting)).not.toContain(token);

    const calls = apple.revokeCalls;
    await gw.gateway.appleTokens!.revoker.flush();
    expect(apple.revokeCalls).toBe(calls + 1);
    expect(await metric(gw, 'authgw_apple_revocations_total', 'retry')).toBe(1);
    expect(apple.revoked).toEqual([]);

    // The instance goes away (a restart); Apple comes back; time passes beyond the backoff.
    await gw.close();
    apple.revokeMode = 'ok';
    clock.advance(REVOKE_RETRY_INITIAL_MS + 1);
    gw = await gateway();
    const other = await gateway();
    await Promise.all([gw.gateway.appleTokens!.revoker.flush(), other.gateway.appleTokens!.revoker.flush()]);
    await Promise.all([gw.gateway.appleTokens!.revoker.flush(), other.gateway.appleTokens!.revoker.flush()]);
    expect(apple.revoked).toEqual([{ token, clientId: 'com.example.app' }]);
    expect(await raw.exists(`${prefix}revoke:{${p.user.id}}`)).toBe(0);
    expect((await metric(gw, 'authgw_apple_revocations_total', 'revoked')) + (await metric(other, 'authgw_apple_revocations_total', 'revoked'))).toBe(1);
    expect(await gw.gateway.appleTokens!.revoker.backlog()).toMatchObject({ inFlight: 0, retrying: 0 });
  });

  it('Apple’s invalid_grant (the token is already dead) ends it: dropped, logged, counted, not retried', async () => {
    const gw = await gateway();
    const p = await appleSignIn(gw, sub(), apple.issueCode());
    await gw.gateway.settled();
    apple.revokeMode = 'invalid_grant';
    await gw.gql(DELETE, {}, bearer(p.accessToken));
    await gw.gateway.appleTokens!.revoker.flush();
    expect(await metric(gw, 'authgw_apple_revocations_total', 'token_dead')).toBe(1);
    expect(await raw.exists(`${prefix}revoke:{${p.user.id}}`)).toBe(0);
    const calls = apple.revokeCalls;
    clock.advance(24 * 3_600_000);
    await gw.gateway.appleTokens!.revoker.flush();
    expect(apple.revokeCalls).toBe(calls);
    expect(await gw.gateway.appleTokens!.revoker.backlog()).toMatchObject({ retrying: 0, failed: 0 });
    apple.revokeMode = 'ok';
  });

  it('unlinkIdentity(APPLE) revokes the Apple token; deleting an account without one sends nothing', async () => {
    const gw = await gateway();
    const g = await gw.gql<{ signInWithGoogle: AuthPayloadShape }>(SIGN_IN, { idToken: await google.mint({ sub: `g${sub()}` }) });
    const account = g.body.data!.signInWithGoogle;
    await gw.gql(LINK, { provider: 'APPLE', idToken: await apple.mint({ sub: sub() }), authorizationCode: apple.issueCode() }, bearer(account.accessToken));
    await gw.gateway.settled();
    const token = apple.issued.at(-1)!;
    const unlinked = await gw.gql(UNLINK, { provider: 'APPLE' }, bearer(account.accessToken));
    expect(unlinked.body.data).toEqual({ unlinkIdentity: { id: account.user.id, identities: [{ provider: 'GOOGLE' }] } });
    await gw.gateway.appleTokens!.revoker.flush();
    expect(apple.revoked.at(-1)).toEqual({ token, clientId: 'com.example.app' });

    const calls = apple.revokeCalls;
    await gw.gql(DELETE, {}, bearer(account.accessToken));
    await gw.gateway.appleTokens!.revoker.flush();
    expect(apple.revokeCalls).toBe(calls);
  });
});
