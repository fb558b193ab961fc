import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { decodeJwt } from 'jose';
import * as oauth from 'oauth4webapi';
import { FakeClock, FakeGoogle } from '../support/fake-google.js';
import { uniquePrefix, usePrivateRedis } from '../support/env.js';
import { RedisServer, freePort } from '../support/redis-server.js';
import { waitFor } from '../support/wait-for.js';
import { ME, REFRESH, SIGN_IN, SIGN_OUT, bearer, startTestGateway, type AuthPayloadShape, type TestGateway } from '../support/gateway.js';

/**
 * `POST /oauth/introspect` (RFC 7662) over HTTP against real gateways on a real Redis: with a
 * client library no one here wrote (oauth4webapi, finding the endpoint through discovery), and
 * with hand-made requests for every inactive reason, every refusal and every form quirk.
 */
const SECRET = 'introspection-secret-0123456789abcdefghijklmnopqrstuv';
const SECOND_SECRET = 'second+introspection/secret-0123456789ABCDEFGHIJ==';
const ROUTER_SECRET = 'router-secret-not-listed-0123456789abcdefghijklmnop';
const AUDIENCE = 'graphql-auth-gateway';
const MIN = 60_000;

interface Answer {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

/** A raw request to the endpoint: the form body as given, headers as given. */
async function post(url: string, body: string | undefined, headers: Record<string, string>, method = 'POST'): Promise<Answer> {
  const res = await fetch(`${url}/oauth/introspect`, { method, headers, body });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, headers: res.headers };
}

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const asCaller = (secret = SECRET) => ({ ...FORM, authorization: `Bearer ${secret}` });
const form = (params: Record<string, string>) => new URLSearchParams(params).toString();

describe('token introspection (RFC 7662)', () => {
  const redis = usePrivateRedis();
  const clock = new FakeClock();
  let google: FakeGoogle;
  let gw: TestGateway;
  let issuer: string;
  let subCounter = 0;

  beforeAll(async () => {
    google = await FakeGoogle.start({ now: clock.now });
    const port = await freePort();
    // Discovery names the endpoint under AUTH_ISSUER, so the issuer is this gateway's own URL.
    issuer = `http://127.0.0.1:${port}`;
    gw = await startTestGateway({
      redisUrl: redis.url,
      prefix: uniquePrefix(),
      google,
      now: clock.now,
      port,
      env: {
        AUTH_ISSUER: issuer,
        INTROSPECTION_SECRETS: `${SECRET}, ${SECOND_SECRET}`,
        ROUTER_SHARED_SECRET: ROUTER_SECRET,
        ACCESS_TOKEN_TTL: '15m',
        SESSION_MAX_LIFETIME: '20m',
        RATE_LIMIT_AUTH_FAILURES_PER_ADDRESS: '3/1m',
      },
    });
  });
  afterAll(async () => {
    await gw?.close();
    await google?.close();
  });

  async function signIn(): Promise<AuthPayloadShape> {
    const res = await gw.gql<{ signInWithGoogle: AuthPayloadShape }>(SIGN_IN, { idToken: await google.mint({ sub: `intro-${subCounter++}` }) });
    expect(res.body.errors).toBeUndefined();
    return res.body.data!.signInWithGoogle;
  }
  const introspect = (token: string, extra: Record<string, string> = {}) => post(gw.url, form({ token, ...extra }), asCaller());
  const inactive = { status: 200, body: { active: false } };
  const shape = (a: Answer) => ({ status: a.status, body: a.body });
  /** The reason the request's log line gives for an inactive answer (never sent to the caller). */
  const loggedReasons = () =>
    gw.logs
      .map((l) => JSON.parse(l) as { path?: string; introspection?: { active: boolean; reason?: string } })
      .filter((l) => l.path === '/oauth/introspect' && l.introspection)
      .map((l) => l.introspection!.reason ?? 'active');

  describe('with oauth4webapi, a client no one here wrote', () => {
    const client: oauth.Client = { client_id: 'supergraph-router' };
    // oauth4webapi's extension point for client authentication: ours is a Bearer secret.
    const bearerSecret: oauth.ClientAuth = (_as, _client, _body, headers) => {
      headers.set('authorization', `Bearer ${SECRET}`);
    };
    const insecure = { [oauth.allowInsecureRequests]: true }; // loopback http in the test only

    async function discover(): Promise<oauth.AuthorizationServer> {
      const url = new URL(issuer);
      return oauth.processDiscoveryResponse(url, await oauth.discoveryRequest(url, { algorithm: 'oidc', ...insecure }));
    }

    it('finds the endpoint through discovery and reads an active token, then an inactive one after signOut', async () => {
      const as = await discover();
      expect(as.introspection_endpoint).toBe(`${issuer}/oauth/introspect`);
      const { accessToken, user } = await signIn();
      const claims = decodeJwt(accessToken);

      const live = await oauth.processIntrospectionResponse(as, client, await oauth.introspectionRequest(as, client, bearerSecret, accessToken, insecure));
      expect(live).toEqual({
        active: true,
        sub: user.id,
        sid: claims.sid,
        exp: claims.exp,
        iat: claims.iat,
        iss: issuer,
        aud: AUDIENCE,
        token_type: 'Bearer',
      });

      expect((await gw.gql(SIGN_OUT, undefined, bearer(accessToken))).body).toEqual({ data: { signOut: true } });
      const ended = await oauth.processIntrospectionResponse(as, client, await oauth.introspectionRequest(as, client, bearerSecret, accessToken, insecure));
      expect(ended).toEqual({ active: false });
    });

    it('surfaces a wrong secret as the WWW-Authenticate challenge, not as an inactive token', async () => {
      const as = await discover();
      const { accessToken } = await signIn();
      const wrong: oauth.ClientAuth = (_as, _client, _body, headers) => headers.set('authorization', `Bearer ${SECRET.replace('0', '1')}`);
      const res = await oauth.introspectionRequest(as, client, wrong, accessToken, insecure);
      await expect(oauth.processIntrospectionResponse(as, client, res)).rejects.toMatchObject({
        name: 'WWWAuthenticateChallengeError',
        status: 401,
        cause: [{ scheme: 'bearer', parameters: { realm: 'token-introspection', error: 'invalid_token' } }],
      });
    });
  });

  describe('a token is active exactly while its session is', () => {
    it('a live token is active with either configured secret; the router secret is not one unless listed', async () => {
      const { accessToken } = await signIn();
      expect((await post(gw.url, form({ token: accessToken }), asCaller(SECOND_SECRET))).body.active).toBe(true);
      expect((await post(gw.url, form({ token: accessToken }), asCaller(ROUTER_SECRET))).status).toBe(401);
    });

    it('signOut, revokeSession, signOutEverywhere: inactive from the moment the mutation has answered', async () => {
      const a = await signIn();
      expect((await introspect(a.accessToken)).body.active).toBe(true);
      await gw.gql(SIGN_OUT, undefined, bearer(a.accessToken));
      expect(shape(await introspect(a.accessToken))).toEqual(inactive);

      // Two sessions of one account: one revokes the other, then everything ends.
      const sub = `intro-multi-${subCounter++}`;
      const signInAs = async () => (await gw.gql<{ signInWithGoogle: AuthPayloadShape }>(SIGN_IN, { idToken: await google.mint({ sub }) })).body.data!.signInWithGoogle;
      const phone = await signInAs();
      const laptop = await signInAs();
      const phoneSid = decodeJwt(phone.accessToken).sid as string;
      expect((await gw.gql('mutation($id: ID!) { revokeSession(id: $id) }', { id: phoneSid }, bearer(laptop.accessToken))).body).toEqual({ data: { revokeSession: true } });
      expect(shape(await introspect(phone.accessToken))).toEqual(inactive);
      expect((await introspect(laptop.accessToken)).body.active).toBe(true);
      await gw.gql('mutation { signOutEverywhere }', undefined, bearer(laptop.accessToken));
      expect(shape(await introspect(laptop.accessToken))).toEqual(inactive);
      // Inactive answers are logged with their reason; active ones are routine (debug level).
      expect(loggedReasons().slice(-2)).toEqual(['session_revoked', 'session_revoked']);
      expect(loggedReasons()).not.toContain('active');
    });

    it('a disabled account and a deleted account: inactive at once', async () => {
      const disabled = await signIn();
      expect(await gw.gateway.stores.accounts.setAccountState(disabled.user.id, 'disabled', Date.now())).toEqual({ found: true, sessionsEnded: 1, identities: [] });
      expect(shape(await introspect(disabled.accessToken))).toEqual(inactive);
      expect(loggedReasons().at(-1)).toBe('account_disabled');

      const deleted = await signIn();
      expect((await gw.gql('mutation { deleteMyAccount }', undefined, bearer(deleted.accessToken))).body).toEqual({ data: { deleteMyAccount: true } });
      expect(shape(await introspect(deleted.accessToken))).toEqual(inactive);
      expect(loggedReasons().at(-1)).toBe('session_revoked');
    });

    it('a reused refresh token revokes the session, and its access tokens turn inactive', async () => {
      const s = await signIn();
      const first = await gw.gql<{ refreshSession: AuthPayloadShape }>(REFRESH, { refreshToken: s.refreshToken });
      expect(first.body.errors).toBeUndefined();
      clock.advance(11_000); // past REFRESH_GRACE_PERIOD
      const reuse = await gw.gql(REFRESH, { refreshToken: s.refreshToken });
      expect(reuse.body.errors?.[0]?.extensions).toEqual({ code: 'UNAUTHENTICATED', reason: 'refresh_token_reused' });
      expect(shape(await introspect(first.body.data!.refreshSession.accessToken))).toEqual(inactive);
      expect(shape(await introspect(s.accessToken))).toEqual(inactive);
    });

    it('an expired token, and a live token of a session past SESSION_MAX_LIFETIME', async () => {
      const s = await signIn();
      const t0 = clock.t;
      clock.t = t0 + 10 * MIN;
      const refreshed = await gw.gql<{ refreshSession: AuthPayloadShape }>(REFRESH, { refreshToken: s.refreshToken });
      const late = refreshed.body.data!.refreshSession.accessToken; // expires at t0 + 25 min
      clock.t = t0 + 16 * MIN; // the first token (t0 + 15 min) has expired; the session lives until t0 + 20 min
      expect(shape(await introspect(s.accessToken))).toEqual(inactive);
      expect((await introspect(late)).body.active).toBe(true);
      clock.t = t0 + 20 * MIN;
      expect(shape(await introspect(late))).toEqual(inactive);
      expect(loggedReasons().slice(-2)).toEqual(['token_expired', 'session_expired']);
    });

    it('anything that is not our access token: inactive, never an error', async () => {
      const s = await signIn();
      const [h, p] = s.accessToken.split('.');
      const foreign = await google.mint({ sub: 'someone' }); // a valid JWT, but Google's ID token
      const forged = `${h}.${p}.${'A'.repeat(86)}`;
      const padded = `${s.accessToken}==`;
      for (const token of ['nope', 'a.b.c', s.refreshToken, foreign, forged, padded, 'x'.repeat(5000), s.accessToken.replace('.', '..')]) {
        expect({ token: token.slice(0, 12), answer: shape(await introspect(token, { token_type_hint: 'refresh_token' })) }).toEqual({ token: token.slice(0, 12), answer: inactive });
      }
      expect(new Set(loggedReasons().slice(-8))).toEqual(new Set(['invalid_token']));
    });
  });

  describe('callers and requests', () => {
    it('401 with a Bearer challenge for a missing, wrong or differently-sent secret', async () => {
      const { accessToken } = await signIn();
      const body = form({ token: accessToken });
      const cases: [string, Record<string, string>, string][] = [
        ['no Authorization', FORM, 'Bearer realm="token-introspection"'],
        ['a Basic credential', { ...FORM, authorization: `Basic ${Buffer.from(`router:${SECRET}`).toString('base64')}` }, 'Bearer realm="token-introspection"'],
        ['a wrong secret', asCaller(`${SECRET}x`), 'Bearer realm="token-introspection", error="invalid_token"'],
        ['an access token instead of a secret', asCaller(accessToken), 'Bearer realm="token-introspection", error="invalid_token"'],
      ];
      const fresh = await startTestGateway({ redisUrl: redis.url, prefix: uniquePrefix(), google, env: { INTROSPECTION_SECRETS: SECRET } });
      try {
        for (const [what, headers, challenge] of cases) {
          const a = await post(fresh.url, body, headers);
          expect({ what, status: a.status, body: a.body, challenge: a.headers.get('www-authenticate'), cache: a.headers.get('cache-control') }).toEqual({
            what,
            status: 401,
            body: { error: 'invalid_client', error_description: 'send Authorization: Bearer <one of INTROSPECTION_SECRETS>' },
            challenge,
            cache: 'no-store',
          });
        }
        // The secret in the body (client_secret_post) is not a way in either.
        expect((await post(fresh.url, form({ token: accessToken, client_secret: SECRET }), FORM)).status).toBe(401);
        expect(fresh.logs.join('\n')).not.toContain(SECRET);
        expect(fresh.logs.join('\n')).not.toContain(accessToken);
      } finally {
        await fresh.close();
      }
    });

    it('wrong secrets spend the address’s budget (429 + Retry-After); a valid secret and sign-in are still answered', async () => {
      clock.advance(MIN); // a full budget: earlier cases here sent wrong secrets too
      const { accessToken } = await signIn();
      const wrong = asCaller('w'.repeat(40));
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push((await post(gw.url, form({ token: accessToken }), wrong)).status);
      expect(statuses).toEqual([401, 401, 401, 429, 429]);
      const limited = await post(gw.url, form({ token: accessToken }), wrong);
      expect({ status: limited.status, body: limited.body, retryAfter: Number(limited.headers.get('retry-after')) }).toEqual({
        status: 429,
        body: { error: 'rate_limited', error_description: 'Too many introspection requests without a valid secret from this network; retry later.' },
        retryAfter: expect.any(Number),
      });
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect((await introspect(accessToken)).body.active).toBe(true);
      expect(await gw.gateway.metrics.registry.getSingleMetricAsString('authgw_rate_limit_hits_total')).toContain('kind="introspect-fail-addr"} 3');
      // Counted apart from rejected tokens: sign-in from the same address still works.
      expect((await signIn()).user.id).toEqual(expect.any(String));
      clock.advance(MIN); // the budget refills with the (injected) clock
      expect((await post(gw.url, form({ token: accessToken }), wrong)).status).toBe(401);
    });

    it('form quirks: a charset parameter, percent-encoding, unknown parameters and the hint are fine', async () => {
      const { accessToken } = await signIn();
      const encoded = `token=${accessToken.replaceAll('.', '%2E')}&token_type_hint=access_token&client_id=whoever&extra=1`;
      const a = await post(gw.url, encoded, { ...asCaller(), 'content-type': 'application/x-www-form-urlencoded; charset=UTF-8' });
      expect({ status: a.status, active: a.body.active, cache: a.headers.get('cache-control'), type: a.headers.get('content-type') }).toEqual({
        status: 200,
        active: true,
        cache: 'no-store',
        type: 'application/json; charset=utf-8',
      });
    });

    it('malformed requests get a clear 4xx with an OAuth error body, never a 5xx', async () => {
      const { accessToken } = await signIn();
      const json = { ...asCaller(), 'content-type': 'application/json' };
      const cases: [string, () => Promise<Answer>, number, string][] = [
        ['no token', () => post(gw.url, form({ token_type_hint: 'access_token' }), asCaller()), 400, 'the application/x-www-form-urlencoded body needs a non-empty token'],
        ['an empty token', () => post(gw.url, 'token=', asCaller()), 400, 'the application/x-www-form-urlencoded body needs a non-empty token'],
        ['no body', () => post(gw.url, undefined, { authorization: `Bearer ${SECRET}` }), 400, 'the application/x-www-form-urlencoded body needs a non-empty token'],
        ['token twice', () => post(gw.url, `token=${accessToken}&token=${accessToken}`, asCaller()), 400, 'token is sent more than once'],
        ['a JSON body', () => post(gw.url, JSON.stringify({ token: accessToken }), json), 415, 'the body must be application/x-www-form-urlencoded'],
        ['text/plain', () => post(gw.url, `token=${accessToken}`, { ...asCaller(), 'content-type': 'text/plain' }), 415, 'the body must be application/x-www-form-urlencoded'],
        ['a body over 8 KB', () => post(gw.url, form({ token: 'x'.repeat(9000) }), asCaller()), 413, 'the body is over 8192 bytes'],
        ['a 1 MB body', () => post(gw.url, form({ token: 'x'.repeat(1 << 20) }), asCaller()), 413, 'the body is over 8192 bytes'],
        ['GET', () => post(gw.url, undefined, { authorization: `Bearer ${SECRET}` }, 'GET'), 405, 'use POST'],
        ['PUT', () => post(gw.url, form({ token: accessToken }), asCaller(), 'PUT'), 405, 'use POST'],
      ];
      for (const [what, send, status, description] of cases) {
        const a = await send();
        expect({ what, status: a.status, body: a.body, cache: a.headers.get('cache-control') }).toEqual({
          what,
          status,
          body: { error: 'invalid_request', error_description: description },
          cache: 'no-store',
        });
        if (status === 405) expect(a.headers.get('allow')).toBe('POST');
      }
      expect(gw.logs.join('\n')).not.toContain(accessToken);
    });

    it('an active answer is logged at debug (routine for a router), with neither the token nor the secret', async () => {
      const debug = await startTestGateway({ redisUrl: redis.url, prefix: uniquePrefix(), google, now: clock.now, env: { INTROSPECTION_SECRETS: SECRET, LOG_LEVEL: 'debug' } });
      try {
        const idToken = await google.mint({ sub: 'debug-log' });
        const { accessToken } = (await debug.gql<{ signInWithGoogle: AuthPayloadShape }>(SIGN_IN, { idToken })).body.data!.signInWithGoogle;
        expect((await post(debug.url, form({ token: accessToken }), asCaller())).body.active).toBe(true);
        const lines = debug.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.path === '/oauth/introspect' && l.msg === 'request completed');
        expect(lines.map((l) => ({ level: l.level, statusCode: l.statusCode, introspection: l.introspection }))).toEqual([{ level: 20, statusCode: 200, introspection: { active: true } }]);
        expect(debug.logs.join('\n')).not.toContain(accessToken);
        expect(debug.logs.join('\n')).not.toContain(SECRET);
      } finally {
        await debug.close();
      }
    });

    it('the endpoint is not served without INTROSPECTION_SECRETS, and discovery does not name it', async () => {
      const plain = await startTestGateway({ redisUrl: redis.url, prefix: uniquePrefix(), google });
      try {
        expect((await post(plain.url, form({ token: 'x' }), asCaller())).status).toBe(404);
        const discovery = (await (await fetch(`${plain.url}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
        expect(discovery.introspection_endpoint).toBeUndefined();
      } finally {
        await plain.close();
      }
    });
  });

  it('Redis down: 503 temporarily_unavailable (never active:false), and active again once it is back', async () => {
    const own = await RedisServer.start();
    const outage = await startTestGateway({ redisUrl: own.url, prefix: uniquePrefix(), google, now: clock.now, env: { INTROSPECTION_SECRETS: SECRET } });
    try {
      const idToken = await google.mint({ sub: 'outage' });
      const signedIn = await outage.gql<{ signInWithGoogle: AuthPayloadShape }>(SIGN_IN, { idToken });
      expect(signedIn.body.errors).toBeUndefined();
      const { accessToken } = signedIn.body.data!.signInWithGoogle;
      expect((await post(outage.url, form({ token: accessToken }), asCaller())).body.active).toBe(true);
      await own.stop();
      const down = await post(outage.url, form({ token: accessToken }), asCaller());
      expect({ status: down.status, body: down.body, cache: down.headers.get('cache-control') }).toEqual({
        status: 503,
        body: { error: 'temporarily_unavailable', error_description: 'the session store cannot be reached; retry shortly' },
        cache: 'no-store',
      });
      // GraphQL says the same for the same token.
      expect((await outage.gql(ME, undefined, bearer(accessToken))).body.errors?.[0]?.extensions).toEqual({ code: 'SERVICE_UNAVAILABLE', reason: 'store_unavailable' });
      await own.start();
      await waitFor('introspection answering again', async () => (await post(outage.url, form({ token: accessToken }), asCaller())).body.active === true, { timeoutMs: 15_000, intervalMs: 100 });
    } finally {
      await outage.close();
      await own.destroy();
    }
  });
});
