import { afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ME_ANSWER, ME_BODY, REFRESH_ANSWER, SIGN_IN_ANSWER, refreshTemplate, signInBody, signInTemplate } from '../../bench/lib/gql.js';
import { onPath } from '../../bench/lib/which.js';
import { WRK_MISSING, runWrk, type WrkScriptResult } from '../../bench/lib/wrk.js';
import { INTROSPECT_ANSWER, INTROSPECTION_SECRET, WRK_SCRIPTS } from '../../bench/lib/workloads.js';

/**
 * The benchmark's wrk scripts (bench/wrk/) run by the real wrk against small servers that record
 * what they received. What must hold for the figures to mean anything: every refused answer is
 * counted (a GraphQL error at HTTP 200 included), requests rotate over the tokens, an ID token is
 * sent at most once, and a refresh token is never presented twice.
 *
 * Each server answers exactly its first ANSWERED requests and then holds the rest unanswered
 * until wrk stops, so the counts wrk reports can be compared with the server's exactly.
 */
const ANSWERED = 300;

type Handler = (n: number, req: IncomingMessage, body: string, res: ServerResponse) => void;

let wrk: string;
let dir: string;
let server: Server | null = null;

beforeAll(() => {
  const found = onPath('wrk');
  if (!found) throw new Error(WRK_MISSING);
  wrk = found;
});

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r) ?? r(undefined));
  server = null;
  rmSync(dir, { recursive: true, force: true });
});

/** A server calling `handle` for its first ANSWERED requests; `held` gets the bodies of the others. */
async function serve(handle: Handler, held: string[] = []): Promise<string> {
  dir = mkdtempSync(join(tmpdir(), 'wrk-scripts-'));
  let n = 0;
  server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (c: string) => (body += c));
    req.on('end', () => {
      n += 1;
      if (n <= ANSWERED) handle(n, req, body, res);
      else held.push(body);
    });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server!.address() as AddressInfo).port}/graphql`;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

async function runScript(url: string, script: string, args: Record<string, string>, threads = 1): Promise<WrkScriptResult> {
  const out = await runWrk({
    wrk,
    url,
    script: join(WRK_SCRIPTS, script),
    args: { threads: String(threads), ua: 'WrkScriptsTest/1', ...args },
    seconds: 2,
    connections: 4,
    threads,
  });
  return out.script;
}

function tokenFile(name: string, tokens: readonly string[]): string {
  const path = join(dir, name);
  writeFileSync(path, `${tokens.join('\n')}\n`);
  return path;
}

describe('me.lua', () => {
  it('counts every refused answer (HTTP 401, or a GraphQL error at HTTP 200) and rotates over the access tokens', async () => {
    const seen = new Map<string, number>();
    let headersOk = true;
    const url = await serve((n, req, body, res) => {
      seen.set(req.headers.authorization!, (seen.get(req.headers.authorization!) ?? 0) + 1);
      headersOk &&= body === ME_BODY && req.headers['content-type'] === 'application/json' && req.headers['user-agent'] === 'WrkScriptsTest/1';
      if (n % 10 === 0) json(res, 401, { errors: [{ message: 'no' }] });
      else if (n % 10 === 5) json(res, 200, { errors: [{ message: 'Not signed in', extensions: { code: 'UNAUTHENTICATED' } }], data: null });
      else json(res, 200, { data: { me: { id: 'u1', email: 'a@example.com', name: 'A' } } });
    });
    const tokens = ['tok-a', 'tok-b', 'tok-c', 'tok-d', 'tok-e', 'tok-f'];
    const r = await runScript(url, 'me.lua', { tokens: tokenFile('me', tokens), body: ME_BODY, expect: ME_ANSWER }, 2);
    expect(r.requests).toBe(ANSWERED);
    expect(r.bad).toBe(ANSWERED / 5);
    expect(r.ok).toBe(ANSWERED - ANSWERED / 5);
    expect(r.errors.status).toBe(ANSWERED / 10);
    expect(r.bad_samples.some((s) => s.startsWith('200 {"errors":[{"message":"Not signed in"'))).toBe(true);
    expect(r.bad_samples.some((s) => s.startsWith('401 {"errors"'))).toBe(true);
    expect(headersOk).toBe(true);
    expect([...seen.keys()].sort()).toEqual(tokens.map((t) => `Bearer ${t}`));
  });
});

describe('introspect.lua', () => {
  it('asks about each access token in turn as a form body with the secret, and counts inactive or refused answers', async () => {
    const seen = new Map<string, number>();
    let requestsOk = true;
    const url = await serve((n, req, body, res) => {
      const token = new URLSearchParams(body).get('token')!;
      seen.set(token, (seen.get(token) ?? 0) + 1);
      requestsOk &&=
        req.method === 'POST' &&
        req.url === '/oauth/introspect' &&
        req.headers.authorization === `Bearer ${INTROSPECTION_SECRET}` &&
        req.headers['content-type'] === 'application/x-www-form-urlencoded' &&
        body === `token=${token}`;
      if (n % 10 === 0) json(res, 503, { error: 'temporarily_unavailable' });
      else if (n % 10 === 5) json(res, 200, { active: false });
      else json(res, 200, { active: true, sub: 'u1', sid: 's1', exp: 2, iat: 1, iss: 'i', aud: 'a', token_type: 'Bearer' });
    });
    const tokens = ['tok-a', 'tok-b', 'tok-c', 'tok-d'];
    const r = await runScript(url.replace('/graphql', '/oauth/introspect'), 'introspect.lua', { tokens: tokenFile('introspect', tokens), secret: INTROSPECTION_SECRET, expect: INTROSPECT_ANSWER }, 2);
    expect({ requests: r.requests, ok: r.ok, bad: r.bad, status: r.errors.status }).toEqual({ requests: ANSWERED, ok: ANSWERED - ANSWERED / 5, bad: ANSWERED / 5, status: ANSWERED / 10 });
    expect(r.bad_samples.some((s) => s === '200 {"active":false}')).toBe(true);
    expect(requestsOk).toBe(true);
    expect([...seen.keys()].sort()).toEqual(tokens);
  });
});

describe('signin.lua', () => {
  it('sends each ID token at most once, and reports a pool that ran dry', async () => {
    const sent: string[] = [];
    const url = await serve((_n, _req, body, res) => {
      const t = (JSON.parse(body) as { variables?: { t?: string } }).variables?.t;
      if (t === undefined) return json(res, 200, { data: { __typename: 'Query' } });
      sent.push(t);
      json(res, 200, { data: { signInWithGoogle: { accessToken: 'a', refreshToken: 'r', user: { id: 'u', email: null, name: null } } } });
    });
    const tokens = Array.from({ length: 40 }, (_, i) => `id-token-${i}`);
    const r = await runScript(url, 'signin.lua', { tokens: tokenFile('ids', tokens), body: signInTemplate('gateway'), expect: SIGN_IN_ANSWER });
    expect(new Set(sent).size).toBe(sent.length);
    expect(sent.every((t) => tokens.includes(t))).toBe(true);
    // All but the one wrk takes at start-up to check the script's request (never sent).
    expect(sent.length).toBe(39);
    // 40 tokens last a few milliseconds: the pool ran dry and the thread stopped; the request
    // made meanwhile is a refused `{ __typename }`. Answers still in flight when it stopped
    // (at most one per other connection) are not counted either way.
    expect(r.exhausted).toBeGreaterThan(0);
    expect(r.taken).toBe(40);
    expect(r.ok).toBeLessThanOrEqual(sent.length);
    expect(r.ok).toBeGreaterThanOrEqual(sent.length - 3);
    expect(r.bad).toBe(r.requests - r.ok);
    expect(r.bad).toBeLessThanOrEqual(1);
  });
});

describe('refresh.lua', () => {
  it('never presents a refresh token twice; failures lose their token; the unused rest is written for the next round', async () => {
    // A rotating store: presenting a valid token spends it and answers a new one.
    const valid = new Set(Array.from({ length: 40 }, (_, i) => `seed-${i}`));
    const spent = new Set<string>();
    let reused = 0;
    let next = 0;
    let refused = 0;
    const held: string[] = [];
    const url = await serve((n, _req, body, res) => {
      const t = (JSON.parse(body) as { variables: { t: string } }).variables.t;
      if (spent.has(t)) reused += 1;
      if (!valid.has(t)) return json(res, 200, { errors: [{ message: 'invalid', extensions: { code: 'UNAUTHENTICATED', reason: 'refresh_token_reused' } }], data: null });
      valid.delete(t);
      spent.add(t);
      // Every 25th refresh fails after spending its token (as a server error would): the client loses it.
      if (n % 25 === 0) {
        refused += 1;
        return json(res, 200, { errors: [{ message: 'unavailable', extensions: { code: 'SERVICE_UNAVAILABLE' } }], data: null });
      }
      const fresh = `r-${++next}`;
      valid.add(fresh);
      json(res, 200, { data: { refreshSession: { accessToken: 'a', refreshToken: fresh } } });
    }, held);
    const leftover = join(dir, 'left');
    const r = await runScript(url, 'refresh.lua', {
      tokens: tokenFile('refresh', [...valid]),
      body: refreshTemplate('gateway'),
      expect: REFRESH_ANSWER,
      leftover,
    });
    expect(reused).toBe(0);
    expect(r.requests).toBe(ANSWERED);
    expect(refused).toBe(ANSWERED / 25);
    expect(r.bad).toBe(ANSWERED / 25);
    expect(r.ok).toBe(ANSWERED - ANSWERED / 25);
    expect(r.exhausted).toBe(0);
    const left = readFileSync(leftover, 'utf8').split('\n').filter(Boolean);
    expect(r.leftover).toBe(left.length);
    // Every token still valid is in the leftover file, or in a request the server held, or is
    // the one wrk takes at start-up to check the script's request and never sends.
    const heldTokens = held.map((b) => (JSON.parse(b) as { variables: { t: string } }).variables.t);
    expect(left.every((t) => valid.has(t))).toBe(true);
    expect(heldTokens.every((t) => valid.has(t))).toBe(true);
    expect(valid.size).toBe(left.length + heldTokens.length + 1);
  });
});

describe('mixed.lua', () => {
  it('makes every `every`-th request a sign-in while ID tokens last, each sent once, the rest `me`', async () => {
    const kinds: string[] = [];
    const signIns: string[] = [];
    let bodiesOk = true;
    const url = await serve((_n, req, body, res) => {
      if (body === ME_BODY) {
        kinds.push(req.headers.authorization ?? 'none');
        return json(res, 200, { data: { me: { id: 'u1', email: null, name: null } } });
      }
      const t = (JSON.parse(body) as { variables: { t: string } }).variables.t;
      bodiesOk &&= body === signInBody('gateway', t);
      signIns.push(t);
      kinds.push('signin');
      json(res, 200, { data: { signInWithGoogle: { accessToken: 'a', refreshToken: 'r', user: { id: 'u', email: null, name: null } } } });
    });
    const r = await runScript(url, 'mixed.lua', {
      tokens: tokenFile('access', ['acc-1', 'acc-2']),
      idtokens: tokenFile('ids', ['id-1', 'id-2', 'id-3', 'id-4', 'id-5']),
      body: ME_BODY,
      expect: ME_ANSWER,
      signin: signInTemplate('gateway'),
      expect_signin: SIGN_IN_ANSWER,
      every: '3',
    });
    expect(r.requests).toBe(ANSWERED);
    expect(r.bad).toBe(0);
    expect(bodiesOk).toBe(true);
    expect(signIns.sort()).toEqual(['id-1', 'id-2', 'id-3', 'id-4', 'id-5']);
    expect(r.signins).toBe(5);
    expect(kinds.filter((k) => k !== 'signin').every((k) => k === 'Bearer acc-1' || k === 'Bearer acc-2')).toBe(true);
    expect(kinds.length).toBe(ANSWERED);
  });
});
