import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { keyLayout } from '../../src/store/keys.js';
import { uniquePrefix, usePrivateRedis } from '../support/env.js';
import { FakeGoogle } from '../support/fake-google.js';
import { ME, SIGN_IN, bearer, startTestGateway, type AuthPayloadShape, type TestGateway } from '../support/gateway.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Structured logs: one JSON line per request with its request id, nothing secret. */
describe('request logging', () => {
  let google: FakeGoogle;
  let gw: TestGateway;
  let prefix: string;
  beforeAll(async () => {
    google = await FakeGoogle.start();
  });
  afterAll(async () => {
    await gw?.close();
    await google?.close();
  });
  const redis = usePrivateRedis();
  beforeAll(async () => {
    prefix = uniquePrefix();
    gw = await startTestGateway({ redisUrl: redis.url, prefix, google });
  });

  /** The log entries written for one request id. */
  const linesFor = (reqId: string) => gw.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.reqId === reqId);

  async function post(body: unknown, headers: Record<string, string> = {}) {
    const res = await fetch(`${gw.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    await res.text();
    return res;
  }

  it('keeps a valid X-Request-Id, returns it, and logs the request once, at completion', async () => {
    const id = 'Root=1-67891233-abcdef012345678912345678';
    const res = await post({ query: ME }, { 'x-request-id': id });
    expect(res.headers.get('x-request-id')).toBe(id);
    const lines = linesFor(id);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 30,
      msg: 'request completed',
      reqId: id,
      method: 'POST',
      path: '/graphql',
      statusCode: 200,
      remoteAddress: '127.0.0.1',
      graphql: { operation: null },
    });
    expect(typeof lines[0]!.responseTimeMs).toBe('number');
    expect(typeof lines[0]!.time).toBe('number');
  });

  it.each([
    ['with spaces', 'a b'],
    ['too long', 'x'.repeat(129)],
    ['with quotes', 'a"b'],
    ['empty', ''],
  ])('replaces an X-Request-Id %s with a generated one', async (_label, id) => {
    const res = await post({ query: ME }, { 'x-request-id': id });
    const returned = res.headers.get('x-request-id')!;
    expect(returned).toMatch(UUID);
    expect(linesFor(returned)).toHaveLength(1);
  });

  it('generates a request id when there is none', async () => {
    const res = await fetch(`${gw.url}/.well-known/jwks.json`);
    const id = res.headers.get('x-request-id')!;
    expect(id).toMatch(UUID);
    expect(linesFor(id)).toEqual([expect.objectContaining({ path: '/.well-known/jwks.json', statusCode: 200 })]);
  });

  it('adds the operation and the error codes of a GraphQL request', async () => {
    const id = 'op-errors-1';
    await post({ query: SIGN_IN, variables: { idToken: 'not-a-jwt' }, operationName: 'SignIn' }, { 'x-request-id': id });
    expect(linesFor(id)).toEqual([expect.objectContaining({ graphql: { operation: 'SignIn', errors: ['UNAUTHENTICATED:malformed'] } })]);
  });

  it('logs the path without the query string (a GET carries variables there)', async () => {
    const idToken = await google.mint({ sub: 'query-string-user' });
    const url = `${gw.url}/graphql?query=${encodeURIComponent('query Q { me { id } }')}&variables=${encodeURIComponent(JSON.stringify({ idToken }))}`;
    const res = await fetch(url, { headers: { 'apollo-require-preflight': 'true', 'x-request-id': 'get-1' } });
    expect(res.status).toBe(200);
    expect(linesFor('get-1')).toEqual([expect.objectContaining({ method: 'GET', path: '/graphql' })]);
    expect(gw.logs.join('\n')).not.toContain(idToken.slice(0, 40));
  });

  it('folds Fastify’s own refusals into the one line: 404 without the URL, 400 with its code', async () => {
    const missing = await fetch(`${gw.url}/nowhere?secret=abc`, { headers: { 'x-request-id': 'nf-1' } });
    expect(missing.status).toBe(404);
    expect(linesFor('nf-1')).toEqual([expect.objectContaining({ path: '/nowhere', statusCode: 404 })]);
    const bad = await fetch(`${gw.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': 'bad-1' }, body: '{' });
    expect(bad.status).toBe(400);
    expect(linesFor('bad-1')).toEqual([expect.objectContaining({ statusCode: 400, error: 'FST_ERR_CTP_INVALID_JSON_BODY' })]);
    expect(gw.logs.join('\n')).not.toContain('secret=abc');
  });

  it('logs probes and scrapes only at debug level', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics']) {
      const res = await fetch(`${gw.url}${path}`, { headers: { 'x-request-id': `probe${path.replace('/', '-')}` } });
      expect(res.status).toBe(200);
      expect(linesFor(`probe${path.replace('/', '-')}`)).toEqual([]);
    }
  });

  it('redacts the arguments ioredis attaches to a failed command (keys, profile data)', async () => {
    const email = 'redaction-check@example.com';
    const first = await post({ query: SIGN_IN, variables: { idToken: await google.mint({ sub: 'redact-1', email }) } });
    expect(first.status).toBe(200);
    const r = await fetch(`${gw.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: SIGN_IN, variables: { idToken: await google.mint({ sub: 'redact-1', email }) } }),
    });
    const uid = ((await r.json()) as { data: { signInWithGoogle: AuthPayloadShape } }).data.signInWithGoogle.user.id;
    // Break the user record's type: the sign-in script now fails inside Redis (WRONGTYPE).
    const raw = new Redis(redis.url);
    await raw.set(keyLayout(prefix).user(uid), 'not a hash');
    raw.disconnect();
    const broken = await fetch(`${gw.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'wrongtype-1' },
      body: JSON.stringify({ query: SIGN_IN, variables: { idToken: await google.mint({ sub: 'redact-1', email }) } }),
    });
    const body = (await broken.json()) as { errors: { extensions: unknown }[] };
    expect(body.errors[0]!.extensions).toEqual({ code: 'SERVICE_UNAVAILABLE', reason: 'store_unavailable' });
    const failure = gw.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'store call failed') as { err: { message: string; command: { name: string; args: unknown } } };
    expect(failure.err.message).toMatch(/WRONGTYPE/);
    expect(failure.err.command).toEqual({ name: 'evalsha', args: '[redacted]' });
    expect(gw.logs.join('\n')).not.toContain(email);
  });

  it('never logs a token', async () => {
    const me = await post({ query: ME }, bearer('eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlc2lnbmF0dXJl'));
    expect(me.status).toBe(200);
    const all = gw.logs.join('\n');
    expect(all).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/);
    expect(all).not.toMatch(/[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}/);
  });
});
