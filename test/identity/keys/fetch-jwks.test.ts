import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { fetchJwks, systemClock } from '../../../src/identity/keys/index.js';
import { FakeGoogle } from '../../support/fake-google.js';
import { ManualClock, track, turn, until } from './support.js';

/** One HTTP GET of a JWKS endpoint: status, redirects, size cap, timeout over headers and body. */
const LIMIT = 1024;
let google: FakeGoogle;
/** Sends headers and half a body, then nothing: only a timeout over the body ends this. */
let stalling: Server;
let stallingUrl: string;
const stalled = new Set<ServerResponse>();

beforeAll(async () => {
  google = await FakeGoogle.start();
  stalling = createServer((_req, res) => {
    stalled.add(res);
    res.once('close', () => stalled.delete(res));
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"keys":[');
  });
  await new Promise<void>((resolve) => stalling.listen(0, '127.0.0.1', resolve));
  stallingUrl = `http://127.0.0.1:${(stalling.address() as AddressInfo).port}/`;
});
afterAll(async () => {
  await google.close();
  for (const res of stalled) res.destroy();
  await new Promise((resolve) => stalling.close(resolve));
});
beforeEach(() => {
  google.mode = 'ok';
  google.fetchCount = 0;
  google.redirectCount = 0;
});

const options = (over: Partial<Parameters<typeof fetchJwks>[1]> = {}) => ({ fetch: globalThis.fetch, clock: systemClock, timeoutMs: 5_000, maxBodyBytes: 256 * 1024, ...over });

/** A `fetch` answering `body` (a string, or chunks streamed without Content-Length). */
function answering(body: string | string[], init: ResponseInit = {}, seen?: { cancelled: boolean }): typeof fetch {
  return async () => {
    if (typeof body === 'string') return new Response(body, { status: 200, ...init });
    const chunks = [...body];
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = chunks.shift();
        if (next === undefined) controller.close();
        else controller.enqueue(new TextEncoder().encode(next));
      },
      cancel() {
        if (seen) seen.cancelled = true;
      },
    });
    return new Response(stream, { status: 200, ...init });
  };
}

describe('fetchJwks', () => {
  it('answers the parsed body and the headers of a 200', async () => {
    const { body, headers } = await fetchJwks(google.jwksUri, options());
    expect(body).toEqual(google.jwks());
    expect(headers.get('cache-control')).toBe('public, max-age=3600, must-revalidate, no-transform');
  });

  it('sends a GET that refuses redirects, accepts JSON and carries an abort signal', async () => {
    const inits: RequestInit[] = [];
    await fetchJwks(google.jwksUri, options({ fetch: (url, init) => (inits.push(init!), fetch(url, init)) }));
    expect(inits).toHaveLength(1);
    expect(inits[0]).toMatchObject({ method: 'GET', redirect: 'error', headers: { accept: 'application/json, application/jwk-set+json' } });
    expect(inits[0]!.signal).toBeInstanceOf(AbortSignal);
  });

  it('does not follow a redirect', async () => {
    await expect(fetchJwks(google.redirectUri, options())).rejects.toMatchObject({ name: 'TypeError', message: 'fetch failed' });
    expect(google.redirectCount).toBe(1);
    expect(google.fetchCount).toBe(0);
  });

  it('refuses any status but 200', async () => {
    google.mode = 'down';
    await expect(fetchJwks(google.jwksUri, options())).rejects.toThrow('unexpected HTTP status 500');
    await expect(fetchJwks(google.jwksUri, options({ fetch: answering('{"keys":[]}', { status: 203 }) }))).rejects.toThrow('unexpected HTTP status 203');
  });

  it.each([['HTML', '<html>oops</html>'], ['truncated JSON', '{"keys":[{"kty":"RSA"'], ['empty', '']])('refuses a body that is not JSON (%s)', async (_label, text) => {
    await expect(fetchJwks(google.jwksUri, options({ fetch: answering(text) }))).rejects.toThrow('the response is not JSON');
  });

  it('refuses a body over the cap, declared or streamed, and stops reading it', async () => {
    const big = `{"pad":"${'x'.repeat(LIMIT)}"}`;
    const declared = { cancelled: false };
    await expect(fetchJwks('http://jwks.test/', options({ maxBodyBytes: LIMIT, fetch: answering([big], { headers: { 'content-length': String(big.length) } }, declared) }))).rejects.toThrow(
      'the response is too large',
    );
    expect(declared.cancelled).toBe(true);
    const streamed = { cancelled: false };
    const chunks = Array.from({ length: 8 }, () => 'x'.repeat(200));
    await expect(fetchJwks('http://jwks.test/', options({ maxBodyBytes: LIMIT, fetch: answering(chunks, {}, streamed) }))).rejects.toThrow('the response is too large');
    expect(streamed.cancelled).toBe(true);
  });

  it('accepts a body of exactly the cap', async () => {
    const exact = `{"pad":"${'x'.repeat(LIMIT - 10)}"}`;
    expect(exact).toHaveLength(LIMIT);
    const { body } = await fetchJwks('http://jwks.test/', options({ maxBodyBytes: LIMIT, fetch: answering([exact.slice(0, 500), exact.slice(500)]) }));
    expect(body).toEqual({ pad: 'x'.repeat(LIMIT - 10) });
  });

  it('times out on the clock when no answer comes, not before', async () => {
    google.mode = 'hang';
    const clock = new ManualClock();
    const p = track(fetchJwks(google.jwksUri, options({ clock, timeoutMs: 5_000 })));
    await until(() => google.fetchCount === 1, 'the request to arrive');
    clock.advance(4_999);
    await turn();
    expect(p.settled).toBe(false);
    clock.advance(1);
    expect(await p.result).toMatchObject({ status: 'rejected', reason: { name: 'TimeoutError' } });
    expect(clock.pendingDelays()).toEqual([]);
  });

  it('times out while the body trickles (the timeout covers the body)', async () => {
    const clock = new ManualClock();
    const p = track(fetchJwks(stallingUrl, options({ clock, timeoutMs: 5_000 })));
    await until(() => stalled.size === 1, 'the body to start');
    await turn();
    expect(p.settled).toBe(false);
    clock.advance(5_000);
    expect(await p.result).toMatchObject({ status: 'rejected', reason: { name: 'TimeoutError' } });
    await until(() => stalled.size === 0, 'the connection to close');
  });

  it('stops when the caller aborts (shutdown), and cancels its timer', async () => {
    google.mode = 'hang';
    const clock = new ManualClock();
    const shutdown = new AbortController();
    const p = fetchJwks(google.jwksUri, options({ clock, signal: shutdown.signal }));
    await until(() => google.fetchCount === 1, 'the request to arrive');
    shutdown.abort();
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
    expect(clock.pendingDelays()).toEqual([]);
  });
});
