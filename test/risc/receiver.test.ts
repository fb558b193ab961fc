import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import type { AccountEvent } from '../../src/events/event.js';
import { FakeApple } from '../support/fake-apple.js';
import { FakeGoogle } from '../support/fake-google.js';
import { uniquePrefix, usePrivateRedis } from '../support/env.js';
import { runUserCli } from '../support/user-cli.js';
import { bearer, ME, SIGN_IN, SIGN_IN_APPLE, startTestGateway, type AuthPayloadShape, type GqlResponse, type TestGateway } from '../support/gateway.js';

/**
 * Google Cross-Account Protection over HTTP: two gateway instances sharing one Redis, a fake
 * Google that serves the RISC discovery document and signs Security Event Tokens with its
 * published keys. Each event row of the README's table, duplicates and concurrent deliveries,
 * every rejection.
 */
const redis = usePrivateRedis();
const RISC = 'https://schemas.openid.net/secevent/risc/event-type/';
const OAUTH = 'https://schemas.openid.net/secevent/oauth/event-type/';
const LINK = `mutation Link($provider: IdentityProvider!, $idToken: String!) { linkIdentity(provider: $provider, idToken: $idToken) { id identities { provider } } }`;

let google: FakeGoogle;
let apple: FakeApple;
let a: TestGateway;
let b: TestGateway;
let raw: Redis;
let prefix: string;
let n = 0;

const newSub = () => `1${String(Date.now()).slice(-8)}${String(++n).padStart(6, '0')}`;
const subject = (sub: string) => ({ subject_type: 'iss-sub', iss: 'https://accounts.google.com/', sub });

async function deliver(g: TestGateway, token: string, contentType = 'application/secevent+jwt'): Promise<{ status: number; body: string }> {
  const res = await fetch(`${g.url}/notifications/google-risc`, { method: 'POST', headers: { 'content-type': contentType }, body: token });
  return { status: res.status, body: await res.text() };
}

async function signIn(g: TestGateway, sub: string, iat?: number): Promise<GqlResponse<{ signInWithGoogle: AuthPayloadShape }>> {
  return g.gql<{ signInWithGoogle: AuthPayloadShape }>(SIGN_IN, { idToken: await google.mint({ sub }, {}, iat === undefined ? {} : { iat }) });
}

async function account(g: TestGateway, sub: string): Promise<AuthPayloadShape> {
  const r = await signIn(g, sub);
  expect(r.body.errors).toBeUndefined();
  return r.body.data!.signInWithGoogle;
}

const reasonOf = (r: GqlResponse) => r.body.errors?.[0]?.extensions?.reason;

async function meReason(g: TestGateway, accessToken: string): Promise<unknown> {
  const r = await g.gql(ME, {}, bearer(accessToken));
  return r.body.errors ? reasonOf(r) : 'ok';
}

/** The account events of `userId` appended so far (both instances write the one stream). */
async function eventsOf(userId: string): Promise<AccountEvent[]> {
  await Promise.all([a.gateway.settled(), b.gateway.settled()]);
  const all = await a.gateway.stores.events.read('0', 10_000);
  return all.map((e) => e.event).filter((e) => e.userId === userId);
}

/** authgw_risc_events_total summed over both instances, by `type/outcome`. */
async function riscCounts(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const g of [a, b]) {
    const metric = g.gateway.metrics.registry.getSingleMetric('authgw_risc_events_total');
    for (const v of (await metric!.get()).values) {
      const key = `${v.labels.type}/${v.labels.outcome}`;
      out[key] = (out[key] ?? 0) + v.value;
    }
  }
  return out;
}

async function countDelta<T>(work: () => Promise<T>): Promise<{ result: T; delta: Record<string, number> }> {
  const before = await riscCounts();
  const result = await work();
  const after = await riscCounts();
  const delta: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) if (v !== (before[k] ?? 0)) delta[k] = v - (before[k] ?? 0);
  return { result, delta };
}

beforeAll(async () => {
  google = await FakeGoogle.start();
  apple = await FakeApple.start({ clientId: 'com.example.app' });
  prefix = uniquePrefix();
  const env = { GOOGLE_RISC_CONFIG_URI: google.riscConfigUri };
  a = await startTestGateway({ redisUrl: redis.url, prefix, google, apple, env });
  b = await startTestGateway({ redisUrl: redis.url, prefix, google, apple, env });
  raw = new Redis(redis.url);
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await google?.close();
  await apple?.close();
  raw?.disconnect();
});

describe('the event table, over HTTP on two instances', () => {
  it.each([
    ['sessions-revoked', `${RISC}sessions-revoked`],
    ['tokens-revoked', `${OAUTH}tokens-revoked`],
  ])('%s ends every session of the account at once on every instance, with session.revoked events', async (type, uri) => {
    const sub = newSub();
    const onA = await account(a, sub);
    const onB = await account(b, sub);
    expect(onB.user.id).toBe(onA.user.id);
    expect(await meReason(a, onA.accessToken)).toBe('ok');

    const { result, delta } = await countDelta(async () => deliver(b, await google.mintSet({ [uri]: { subject: subject(sub) } })));
    expect(result).toEqual({ status: 202, body: '' });
    expect(delta).toEqual({ [`${type}/applied`]: 1 });

    // Refused at once, on the instance that did not receive the event too.
    expect(await meReason(a, onA.accessToken)).toBe('session_revoked');
    expect(await meReason(a, onB.accessToken)).toBe('session_revoked');
    expect(await meReason(b, onA.accessToken)).toBe('session_revoked');
    const revoked = (await eventsOf(onA.user.id)).filter((e) => e.type === 'session.revoked');
    expect(revoked.map((e) => e.data).sort((x, y) => (String(x) < String(y) ? -1 : 1))).toHaveLength(2);
    expect(revoked.every((e) => e.type === 'session.revoked' && e.data.reason === 'provider_security_event')).toBe(true);
    expect(await a.gateway.stores.securityEvents.recorded(onA.user.id)).toEqual([{ type, reason: null, action: 'sessions_ended', issuedAt: expect.any(Number), receivedAt: expect.any(Number) }]);

    // An ID token issued before the event no longer signs in; a new one does.
    const old = await signIn(a, sub, Math.floor(Date.now() / 1000) - 120);
    expect(reasonOf(old)).toBe('sign_in_revoked');
    expect((await account(a, sub)).user.id).toBe(onA.user.id);
  });

  it('token-revoked, account-credential-change-required and account-disabled bulk-account are recorded and counted; nothing else changes', async () => {
    const sub = newSub();
    const s = await account(a, sub);
    for (const [uri, extra] of [
      [`${OAUTH}token-revoked`, { token_identifier_alg: 'hash_base64_sha512_sha512', token: 'aGFzaA' }],
      [`${RISC}account-credential-change-required`, {}],
      [`${RISC}account-disabled`, { reason: 'bulk-account' }],
    ] as const) {
      expect(await deliver(a, await google.mintSet({ [uri]: { subject: subject(sub), ...extra } }))).toEqual({ status: 202, body: '' });
    }
    expect(await meReason(b, s.accessToken)).toBe('ok');
    expect((await account(b, sub)).user.id).toBe(s.user.id);
    const recorded = await b.gateway.stores.securityEvents.recorded(s.user.id);
    expect(recorded.map((e) => [e.type, e.reason, e.action])).toEqual([
      ['account-disabled', 'bulk-account', 'recorded'],
      ['account-credential-change-required', null, 'recorded'],
      ['token-revoked', null, 'recorded'],
    ]);
    expect((await eventsOf(s.user.id)).filter((e) => e.type !== 'user.created' && e.type !== 'user.updated')).toEqual([]);
    const counts = await riscCounts();
    expect(counts['account-disabled/applied']).toBeGreaterThanOrEqual(1);
    expect(counts['token-revoked/applied']).toBeGreaterThanOrEqual(1);
  });

  it('account-disabled (hijacking) ends every session and refuses Google sign-in until account-enabled', async () => {
    const sub = newSub();
    const s = await account(a, sub);
    const other = await account(b, sub);
    expect(await deliver(a, await google.mintSet({ [`${RISC}account-disabled`]: { subject: subject(sub), reason: 'hijacking' } }))).toEqual({ status: 202, body: '' });
    expect(await meReason(b, s.accessToken)).toBe('session_revoked');
    expect(await meReason(b, other.accessToken)).toBe('session_revoked');
    expect(reasonOf(await signIn(b, sub))).toBe('google_account_disabled');
    expect(reasonOf(await signIn(a, sub))).toBe('google_account_disabled');
    const events = await eventsOf(s.user.id);
    const security = events.filter((e) => e.type === 'identity.locked' || (e.type === 'session.revoked' && e.data.reason === 'provider_security_event'));
    expect(security.map((e) => e.type)).toEqual(['identity.locked', 'session.revoked', 'session.revoked']);
    expect(security[0]!.data).toEqual({ provider: 'google', reason: 'hijacking' });

    // account-enabled (issued later): allowed again.
    google.now = () => Date.now() + 2000;
    try {
      expect(await deliver(b, await google.mintSet({ [`${RISC}account-enabled`]: { subject: subject(sub) } }))).toEqual({ status: 202, body: '' });
    } finally {
      google.now = Date.now;
    }
    expect((await eventsOf(s.user.id)).filter((e) => e.type === 'identity.unlocked').map((e) => e.data)).toEqual([{ provider: 'google' }]);
    const again = await signIn(a, sub, Math.floor(Date.now() / 1000) + 3);
    expect(again.body.errors).toBeUndefined();
    expect(again.body.data!.signInWithGoogle.user.id).toBe(s.user.id);
    expect((await b.gateway.stores.securityEvents.recorded(s.user.id)).map((e) => e.action)).toEqual(['unlocked', 'locked']);
  });

  it('account-disabled without a reason refuses Google sign-in only: sessions stay, the Apple identity still signs in', async () => {
    const sub = newSub();
    const appleSub = `000${newSub()}.apple`;
    const g = await account(a, sub);
    const linked = await a.gql(LINK, { provider: 'APPLE', idToken: await apple.mint({ sub: appleSub }) }, bearer(g.accessToken));
    expect(linked.body.errors).toBeUndefined();
    const viaApple = await a.gql<{ signInWithApple: AuthPayloadShape }>(SIGN_IN_APPLE, { identityToken: await apple.mint({ sub: appleSub }) });
    expect(viaApple.body.data!.signInWithApple.user.id).toBe(g.user.id);

    expect(await deliver(b, await google.mintSet({ [`${RISC}account-disabled`]: { subject: subject(sub) } }))).toEqual({ status: 202, body: '' });
    expect(reasonOf(await signIn(a, sub))).toBe('google_account_disabled');
    expect(await meReason(a, g.accessToken)).toBe('ok');
    expect(await meReason(b, viaApple.body.data!.signInWithApple.accessToken)).toBe('ok');
    const appleAgain = await b.gql<{ signInWithApple: AuthPayloadShape }>(SIGN_IN_APPLE, { identityToken: await apple.mint({ sub: appleSub }) });
    expect(appleAgain.body.data!.signInWithApple.user.id).toBe(g.user.id);
    const locked = (await eventsOf(g.user.id)).filter((e) => e.type === 'identity.locked');
    expect(locked.map((e) => e.data)).toEqual([{ provider: 'google', reason: 'disabled' }]);
    expect((await eventsOf(g.user.id)).some((e) => e.type === 'session.revoked')).toBe(false);
  });

  it('verification is logged with its state; an unknown event type is accepted and ignored', async () => {
    const { result, delta } = await countDelta(async () => deliver(a, await google.mintSet({ [`${RISC}verification`]: { state: 'check-42' } })));
    expect(result).toEqual({ status: 202, body: '' });
    expect(delta).toEqual({ 'verification/logged': 1 });
    expect(a.logs.some((l) => l.includes('"state":"check-42"') && l.includes('Google security event received'))).toBe(true);
    const unknown = await countDelta(async () => deliver(b, await google.mintSet({ 'https://schemas.openid.net/secevent/risc/event-type/future-thing': { subject: subject(newSub()) } })));
    expect(unknown.result).toEqual({ status: 202, body: '' });
    expect(unknown.delta).toEqual({ 'unknown/ignored': 1 });
  });
});

describe('identities with no account yet', () => {
  it('a disabled identity creates no account, and is refused until account-enabled', async () => {
    const sub = newSub();
    const { result, delta } = await countDelta(async () => deliver(a, await google.mintSet({ [`${RISC}account-disabled`]: { subject: subject(sub) } })));
    expect(result.status).toBe(202);
    expect(delta).toEqual({ 'account-disabled/no_account': 1 });
    expect(reasonOf(await signIn(b, sub))).toBe('google_account_disabled');
    expect(await raw.exists(`${prefix}idn:google:${sub}`)).toBe(0);
    google.now = () => Date.now() + 2000;
    try {
      expect((await deliver(b, await google.mintSet({ [`${RISC}account-enabled`]: { subject: subject(sub) } }))).status).toBe(202);
    } finally {
      google.now = Date.now;
    }
    expect((await account(a, sub)).isNewUser).toBe(true);
  });

  it('sessions-revoked for a sub with no account refuses ID tokens issued before it', async () => {
    const sub = newSub();
    expect((await deliver(b, await google.mintSet({ [`${RISC}sessions-revoked`]: { subject: { subject_type: 'id_token_claims', sub } } }))).status).toBe(202);
    expect(reasonOf(await signIn(a, sub, Math.floor(Date.now() / 1000) - 60))).toBe('sign_in_revoked');
    expect(await raw.exists(`${prefix}idn:google:${sub}`)).toBe(0);
    expect((await account(a, sub)).isNewUser).toBe(true);
  });

  it('linkIdentity refuses a locked Google identity and changes nothing', async () => {
    const sub = newSub();
    const appleSub = `000${newSub()}.apple`;
    const viaApple = await a.gql<{ signInWithApple: AuthPayloadShape }>(SIGN_IN_APPLE, { identityToken: await apple.mint({ sub: appleSub }) });
    const owner = viaApple.body.data!.signInWithApple;
    expect((await deliver(a, await google.mintSet({ [`${RISC}account-disabled`]: { subject: subject(sub), reason: 'hijacking' } }))).status).toBe(202);
    const linked = await b.gql(LINK, { provider: 'GOOGLE', idToken: await google.mint({ sub }) }, bearer(owner.accessToken));
    expect(reasonOf(linked)).toBe('google_account_disabled');
    expect(await raw.exists(`${prefix}idn:google:${sub}`)).toBe(0);
    expect(await raw.hget(`${prefix}ids:{${owner.user.id}}`, 'google')).toBeNull();
  });
});

describe('each event acts once', () => {
  it('a duplicate delivery answers 202 and does nothing', async () => {
    const sub = newSub();
    const s = await account(a, sub);
    const token = await google.mintSet({ [`${RISC}sessions-revoked`]: { subject: subject(sub) } });
    expect((await deliver(a, token)).status).toBe(202);
    const fresh = await account(a, sub);
    const { result, delta } = await countDelta(() => deliver(b, token));
    expect(result).toEqual({ status: 202, body: '' });
    expect(delta).toEqual({ 'sessions-revoked/duplicate': 1 });
    expect(await meReason(a, fresh.accessToken)).toBe('ok');
    expect((await eventsOf(s.user.id)).filter((e) => e.type === 'session.revoked')).toHaveLength(1);
  });

  it('concurrent deliveries of one event to both instances act once', async () => {
    const sub = newSub();
    const sessions = await Promise.all([account(a, sub), account(b, sub), account(a, sub)]);
    const token = await google.mintSet({ [`${RISC}account-disabled`]: { subject: subject(sub), reason: 'hijacking' } });
    const { result, delta } = await countDelta(() => Promise.all([deliver(a, token), deliver(b, token), deliver(a, token), deliver(b, token)]));
    expect(result.map((r) => r.status)).toEqual([202, 202, 202, 202]);
    expect(delta).toEqual({ 'account-disabled/applied': 1, 'account-disabled/duplicate': 3 });
    const events = await eventsOf(sessions[0].user.id);
    expect(events.filter((e) => e.type === 'identity.locked')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'session.revoked')).toHaveLength(3);
    expect(await a.gateway.stores.securityEvents.recorded(sessions[0].user.id)).toHaveLength(1);
  });
});

describe('rejections', () => {
  const rogue = () => google.newKey();
  it.each<[string, string, () => Promise<string>]>([
    ['not a JWT', 'invalid_request', async () => 'not-a-jwt'],
    ['an empty body', 'invalid_request', async () => ''],
    ['a wrong issuer', 'invalid_issuer', () => google.mintSet({ [`${RISC}verification`]: {} }, { iss: 'https://evil.example/' })],
    ['no issuer', 'invalid_issuer', () => google.mintSet({ [`${RISC}verification`]: {} }, { iss: undefined })],
    ['another audience', 'invalid_audience', () => google.mintSet({ [`${RISC}verification`]: {} }, { aud: 'someone-else.apps.googleusercontent.com' })],
    ['an audience list with a stranger', 'invalid_audience', () => google.mintSet({ [`${RISC}verification`]: {} }, { aud: [google.clientId, 'x'] })],
    ['no jti', 'invalid_request', () => google.mintSet({ [`${RISC}verification`]: {} }, { jti: undefined })],
    ['no iat', 'invalid_request', () => google.mintSet({ [`${RISC}verification`]: {} }, { iat: undefined })],
    ['iat 10 minutes ahead', 'invalid_request', () => google.mintSet({ [`${RISC}verification`]: {} }, { iat: Math.floor(Date.now() / 1000) + 600 })],
    ['no events', 'invalid_request', () => google.mintSet({}, {})],
    ['an event without a subject', 'invalid_request', () => google.mintSet({ [`${RISC}sessions-revoked`]: {} })],
    ['an unpublished kid', 'invalid_key', async () => google.mintSet({ [`${RISC}verification`]: {} }, {}, { key: await rogue() })],
    ['a published kid, another key', 'authentication_failed', async () => google.mintSet({ [`${RISC}verification`]: {} }, {}, { key: await rogue(), header: { kid: google.current.kid } })],
    ['alg none', 'invalid_request', async () => `${Buffer.from(JSON.stringify({ alg: 'none', kid: google.current.kid })).toString('base64url')}.${Buffer.from('{}').toString('base64url')}.`],
    ['HS256', 'invalid_key', async () => google.hostile.hs256WithPublicKey()],
  ])('%s: 400 %s, no token echoed', async (_label, err, make) => {
    const token = await make();
    const { result, delta } = await countDelta(() => deliver(a, token));
    expect(result.status).toBe(400);
    const body = JSON.parse(result.body) as { err: string; description: string };
    expect(body).toEqual({ err, description: expect.any(String) });
    if (token.length > 10) expect(result.body).not.toContain(token.split('.')[1]!.slice(0, 20));
    expect(delta).toEqual({ [`none/${err}`]: 1 });
  });

  it('an expired-looking SET (exp in the past) is still accepted: events do not expire', async () => {
    expect((await deliver(a, await google.mintSet({ [`${RISC}verification`]: { state: 'old' } }, { exp: 1, iat: Math.floor(Date.now() / 1000) - 7200 }))).status).toBe(202);
  });

  it('another media type, an oversized body, another method: RFC 8935 errors, never 5xx; application/jwt is tolerated', async () => {
    const token = await google.mintSet({ [`${RISC}verification`]: { state: 's' } });
    expect(await deliver(a, token, 'application/jwt')).toEqual({ status: 202, body: '' });
    const json = await deliver(a, JSON.stringify({ token }), 'application/json');
    expect(json.status).toBe(400);
    expect(JSON.parse(json.body)).toMatchObject({ err: 'invalid_request' });
    const big = await deliver(a, 'a'.repeat(40_000));
    expect(big.status).toBe(400);
    expect(JSON.parse(big.body)).toMatchObject({ err: 'invalid_request' });
    const get = await fetch(`${a.url}/notifications/google-risc`);
    expect([get.status, get.headers.get('allow'), await get.json()]).toEqual([405, 'POST', { err: 'invalid_request', description: 'use POST' }]);
  });
});

describe('npm run user -- show', () => {
  it('lists the account’s recorded security events and its Google identity’s lock', async () => {
    const sub = newSub();
    const s = await account(a, sub);
    expect((await deliver(a, await google.mintSet({ [`${RISC}account-disabled`]: { subject: subject(sub), reason: 'hijacking' } }))).status).toBe(202);
    const shown = await runUserCli(['show', s.user.id], { REDIS_URL: redis.url, REDIS_KEY_PREFIX: prefix });
    expect(shown.code).toBe(0);
    const body = JSON.parse(shown.stdout) as Record<string, unknown>;
    expect(body).toMatchObject({
      id: s.user.id,
      identities: [{ provider: 'google', subject: sub, locked: 'hijacking', tokensRefusedBefore: expect.any(String) }],
      sessions: [],
      securityEvents: [{ type: 'account-disabled', reason: 'hijacking', action: 'locked', issuedAt: expect.any(String), receivedAt: expect.any(String) }],
    });
  });
});

describe('logs', () => {
  it('carry the outcome, never the token', async () => {
    const sub = newSub();
    await account(a, sub);
    const tokens = [
      await google.mintSet({ [`${RISC}sessions-revoked`]: { subject: subject(sub) } }),
      await google.mintSet({ [`${RISC}verification`]: { state: 'x' } }, { aud: 'someone-else' }),
      await google.mintSet({ [`${RISC}verification`]: { state: 'y' } }, {}, { key: await google.newKey(), header: { kid: google.current.kid } }),
    ];
    for (const t of tokens) await deliver(a, t);
    await a.gateway.settled();
    const logged = a.logs.join('\n');
    expect(logged).toContain('"risc":{"outcome":"accepted"}');
    expect(logged).toContain('"risc":{"err":"invalid_audience"}');
    for (const t of tokens) for (const part of t.split('.')) expect(logged).not.toContain(part.slice(0, 40));
  });
});
