import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import type { AccountEvent } from '../../src/events/event.js';
import { FakeApple } from '../support/fake-apple.js';
import { FakeGoogle } from '../support/fake-google.js';
import { uniquePrefix, usePrivateRedis } from '../support/env.js';
import { bearer, SIGN_IN, SIGN_IN_APPLE, startTestGateway, type AuthPayloadShape, type TestGateway } from '../support/gateway.js';
import { applyMutations, mutation, randomToken } from '../support/token-fuzz.js';
import { waitFor } from '../support/wait-for.js';

/**
 * `POST /notifications/apple` over HTTP, with two gateway instances on one real Redis: Apple's
 * consent-revoked / account-delete end every session at once (the other instance refuses the
 * next request) and unlink the identity (deleting an account left with none), email-disabled /
 * email-enabled follow on the identity, every bad token or body is a bare 400, duplicates and
 * unknown subjects change nothing, and no random input answers 5xx or acts.
 */
const redis = usePrivateRedis();
let apple: FakeApple;
let rogue: FakeApple;
let google: FakeGoogle;
let a: TestGateway;
let b: TestGateway;
let raw: Redis;
let prefix: string;
let n = 0;

const sub = () => `00${3000 + ++n}.${createHash('sha256').update(String(Math.random())).digest('hex').slice(0, 32)}.0${n}`;
const ME_IDS = `{ me { id identities { provider emailForwarding } } }`;
const LINK = `mutation Link($idToken: String!) { linkIdentity(provider: APPLE, idToken: $idToken) { id } }`;

async function post(g: TestGateway, body: unknown, contentType = 'application/json'): Promise<{ status: number; text: string }> {
  const res = await fetch(`${g.url}/notifications/apple`, { method: 'POST', headers: { 'content-type': contentType }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, text: await res.text() };
}
const notify = async (g: TestGateway, events: Record<string, unknown> | string, overrides = {}) => post(g, { payload: await apple.notification(events, overrides) });

async function appleAccount(g: TestGateway, s = sub()) {
  const r = await g.gql<{ signInWithApple: AuthPayloadShape }>(SIGN_IN_APPLE, { identityToken: await apple.mint({ sub: s }) });
  return { s, p: r.body.data!.signInWithApple };
}

async function meOn(g: TestGateway, accessToken: string) {
  return g.gql<{ me: { id: string; identities: { provider: string; emailForwarding: boolean }[] } }>(ME_IDS, {}, bearer(accessToken));
}

async function streamEvents(userId: string): Promise<AccountEvent[]> {
  const entries = (await raw.xrange(`${prefix}events`, '-', '+')) as [string, string[]][];
  return entries.map(([, f]) => JSON.parse(f[1]!) as AccountEvent).filter((e) => e.userId === userId);
}

beforeAll(async () => {
  apple = await FakeApple.start();
  rogue = await FakeApple.start();
  google = await FakeGoogle.start();
  prefix = uniquePrefix();
  a = await startTestGateway({ redisUrl: redis.url, prefix, google, apple });
  b = await startTestGateway({ redisUrl: redis.url, prefix, google, apple });
  raw = new Redis(redis.url);
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await apple?.close();
  await rogue?.close();
  await google?.close();
  raw?.disconnect();
});

describe('consent-revoked and account-delete', () => {
  it('consent-revoked ends every session of the account at once, on another instance too, and unlinks Apple; the Google identity stays', async () => {
    const g = await b.gql<{ signInWithGoogle: AuthPayloadShape }>(SIGN_IN, { idToken: await google.mint({ sub: `g${sub()}` }) });
    const google1 = g.body.data!.signInWithGoogle;
    const s = sub();
    expect((await b.gql(LINK, { idToken: await apple.mint({ sub: s }) }, bearer(google1.accessToken))).body.errors).toBeUndefined();
    const viaApple = (await appleAccount(b, s)).p;
    expect(viaApple.user.id).toBe(google1.user.id);
    expect((await meOn(b, viaApple.accessToken)).body.data?.me.identities.map((i) => i.provider)).toEqual(['GOOGLE', 'APPLE']);

    const r = await notify(a, { type: 'consent-revoked', sub: s, event_time: Date.now() });
    expect(r).toEqual({ status: 200, text: '{}' });
    // The other instance refuses both sessions on the next request: sessions live in Redis.
    for (const t of [viaApple.accessToken, google1.accessToken]) expect((await meOn(b, t)).body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const again = await b.gql<{ signInWithGoogle: AuthPayloadShape }>(SIGN_IN, { idToken: await google.mint({ sub: (await raw.hget(`${prefix}ids:{${google1.user.id}}`, 'google'))! }) });
    expect(again.body.data!.signInWithGoogle.user.id).toBe(google1.user.id);
    expect((await meOn(b, again.body.data!.signInWithGoogle.accessToken)).body.data?.me.identities.map((i) => i.provider)).toEqual(['GOOGLE']);
    const events = await streamEvents(google1.user.id);
    expect(events.filter((e) => e.type === 'session.revoked').map((e) => (e.data as { reason: string }).reason)).toEqual(['identity_revoked', 'identity_revoked']);
    expect(events.filter((e) => e.type === 'identity.unlinked').map((e) => e.data)).toEqual([{ provider: 'apple' }]);

    // Apple delivers it again: nothing more happens.
    const count = (await streamEvents(google1.user.id)).length;
    expect((await notify(a, { type: 'consent-revoked', sub: s, event_time: Date.now() })).status).toBe(200);
    expect((await streamEvents(google1.user.id)).length).toBe(count);
  });

  it('account-delete of the account’s only identity deletes the account as deleteMyAccount would', async () => {
    const { s, p } = await appleAccount(a);
    expect((await notify(b, { type: 'account-delete', sub: s, event_time: Date.now() })).status).toBe(200);
    expect((await meOn(a, p.accessToken)).body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(await raw.exists(`${prefix}user:{${p.user.id}}`, `${prefix}ids:{${p.user.id}}`, `${prefix}idn:apple:${s}`)).toBe(0);
    expect(await raw.exists(`${prefix}gone:{${p.user.id}}`)).toBe(1);
    expect((await streamEvents(p.user.id)).map((e) => e.type)).toEqual(['user.created', 'session.revoked', 'user.deleted']);
    // A new sign-in with that Apple id is a new account.
    const next = await appleAccount(a, s);
    expect(next.p).toMatchObject({ isNewUser: true });
    expect(next.p.user.id).not.toBe(p.user.id);
    // A replay of the old notification (older than the new link) is accepted and changes nothing.
    expect((await notify(b, { type: 'account-delete', sub: s, event_time: Date.now() - 3_600_000 })).status).toBe(200);
    expect((await meOn(a, next.p.accessToken)).body.data?.me.id).toBe(next.p.user.id);
  });
});

describe('email-disabled and email-enabled', () => {
  it('turn the identity’s emailForwarding off and on; sessions stay', async () => {
    const { s, p } = await appleAccount(a);
    expect((await meOn(b, p.accessToken)).body.data?.me.identities).toEqual([{ provider: 'APPLE', emailForwarding: true }]);
    expect((await notify(a, { type: 'email-disabled', sub: s, email: 'x7k2p9q4rs@privaterelay.appleid.com', is_private_email: 'true', event_time: Date.now() })).status).toBe(200);
    expect((await meOn(b, p.accessToken)).body.data?.me.identities).toEqual([{ provider: 'APPLE', emailForwarding: false }]);
    expect((await notify(a, { type: 'email-disabled', sub: s, event_time: Date.now() })).status).toBe(200);
    expect((await meOn(b, p.accessToken)).body.data?.me.identities).toEqual([{ provider: 'APPLE', emailForwarding: false }]);
    expect((await notify(a, { type: 'email-enabled', sub: s, event_time: Date.now() })).status).toBe(200);
    expect((await meOn(b, p.accessToken)).body.data?.me.identities).toEqual([{ provider: 'APPLE', emailForwarding: true }]);
  });

  it('an unknown sub or an unknown type is accepted and changes nothing', async () => {
    const { s, p } = await appleAccount(a);
    expect((await notify(a, { type: 'consent-revoked', sub: sub(), event_time: Date.now() })).status).toBe(200);
    expect((await notify(a, { type: 'something-new', sub: s, event_time: Date.now() })).status).toBe(200);
    expect((await meOn(b, p.accessToken)).body.data?.me.id).toBe(p.user.id);
  });
});

describe('refusals', () => {
  let victim: { s: string; p: AuthPayloadShape };
  beforeAll(async () => {
    victim = await appleAccount(a);
  });

  const revoke = () => ({ type: 'consent-revoked', sub: victim.s, event_time: Date.now() });

  it.each<[string, () => Promise<unknown>, string?]>([
    ['signed by a key Apple does not publish', async () => ({ payload: await rogue.notification(revoke()) })],
    ['with a tampered payload', async () => {
      const [h, , sig] = (await apple.notification({ type: 'email-enabled', sub: victim.s })).split('.');
      const body = Buffer.from(JSON.stringify({ iss: 'https://appleid.apple.com', aud: apple.clientId, iat: Math.floor(Date.now() / 1000), events: JSON.stringify(revoke()) })).toString('base64url');
      return { payload: `${h}.${body}.${sig}` };
    }],
    ['from another issuer', async () => ({ payload: await apple.notification(revoke(), { iss: 'https://appleid.apple.com/' }) })],
    ['for another app', async () => ({ payload: await apple.notification(revoke(), { aud: 'com.example.other' }) })],
    ['issued in the future', async () => ({ payload: await apple.notification(revoke(), { iat: Math.floor(Date.now() / 1000) + 3600 }) })],
    ['signed alg none', async () => ({ payload: `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ iss: 'https://appleid.apple.com', aud: apple.clientId, iat: 1, events: JSON.stringify(revoke()) })).toString('base64url')}.` })],
    ['whose events are not JSON', async () => ({ payload: await apple.notification('{"type":"consent-revoked","sub":') })],
    ['whose events have no sub', async () => ({ payload: await apple.notification({ type: 'consent-revoked' }) })],
    ['whose events are a JSON array', async () => ({ payload: await apple.notification('[1,2]') })],
    ['without events (an identity token)', async () => ({ payload: await apple.mint({ sub: victim.s }) })],
    ['with no payload', async () => ({ token: 'x' })],
    ['with a payload that is not a string', async () => ({ payload: 42 })],
    ['that is garbage', async () => 'not json at all'],
    ['that is a JSON array', async () => '[]'],
    ['that is not JSON', async () => 'payload=abc', 'application/x-www-form-urlencoded'],
    ['that is too large', async () => ({ payload: 'a'.repeat(20_000) })],
  ])('a notification %s is a bare 400 and changes nothing', async (_label, body, contentType = 'application/json') => {
    const r = await post(a, await body(), contentType);
    expect(r.status).toBe(400);
    expect(JSON.parse(r.text)).toEqual({ error: 'invalid_request' });
    expect((await meOn(b, victim.p.accessToken)).body.data?.me.id).toBe(victim.p.user.id);
  });

  it('answers 405 to another method', async () => {
    const res = await fetch(`${a.url}/notifications/apple`);
    expect([res.status, res.headers.get('allow'), await res.json()]).toEqual([405, 'POST', { error: 'invalid_request' }]);
  });

  it('fuzz: random bodies and mutated notification tokens never answer 5xx and never act', async () => {
    const valid = await apple.notification(revoke());
    const others = [await apple.mint({ sub: victim.s }), await rogue.notification(revoke())];
    const body = fc.oneof(
      randomToken.map((t) => JSON.stringify({ payload: t })),
      fc.array(mutation, { minLength: 1, maxLength: 3 }).map((m) => JSON.stringify({ payload: applyMutations(valid, m, others) })),
      fc.string({ maxLength: 300 }),
      fc.json().map((j) => j),
      fc.jsonValue().map((v) => JSON.stringify({ payload: v })),
    );
    await fc.assert(
      fc.asyncProperty(body, async (text) => {
        const r = await post(a, text);
        expect(r.status).toBeLessThan(500);
        // A mutation may leave the token as it was (a no-op): only then may it be accepted.
        if (r.status === 200) expect(text).toContain(valid);
        return true;
      }),
      { numRuns: 150, seed: 12 },
    );
    // The victim's session survived every input that was not the genuine token.
    const meNow = await meOn(b, victim.p.accessToken);
    const accepted = meNow.body.errors !== undefined;
    if (accepted) expect(await raw.exists(`${prefix}user:{${victim.p.user.id}}`)).toBe(0);
    else expect(meNow.body.data?.me.id).toBe(victim.p.user.id);
  });
});

describe('Redis down', () => {
  it('a genuine notification is answered 503 (Apple delivers it again) and applied once Redis is back', async () => {
    const { s, p } = await appleAccount(a);
    const payload = await apple.notification({ type: 'email-disabled', sub: s, event_time: Date.now() });
    await redis.server.stop();
    try {
      expect((await post(a, { payload })).status).toBe(503);
    } finally {
      await redis.server.start();
    }
    // Apple delivers the same notification again (503 until the gateway has reconnected).
    await waitFor('the notification accepted after Redis is back', async () => (await post(a, { payload })).status === 200);
    expect((await meOn(b, p.accessToken)).body.data?.me.identities).toEqual([{ provider: 'APPLE', emailForwarding: false }]);
  });
});
