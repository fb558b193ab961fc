import { describe, expect, it } from '@jest/globals';
import { KEY_SET_DEFAULTS, STALE_GRACE_MS } from '../../../src/identity/keys/index.js';
import { usePrivateRedis } from '../../support/env.js';
import { expectAuthError, expectUnavailable } from '../helpers.js';
import { memoryBackend, redisBackend, track, turn, until, useKeyCache, type BackendFactory } from './support.js';

/**
 * The key cache while the provider is down, slow, hanging or answering garbage. Timeouts run
 * on the ManualClock: a case shows a request failing exactly when the clock passes a timeout,
 * and "at once" as failing while the clock stands still.
 */
const redis = usePrivateRedis();
const HOUR = 3_600_000;
const rs256 = { algorithm: { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048 }, type: 'public' };

describe.each<[string, BackendFactory]>([
  ['memory', memoryBackend()],
  ['redis', redisBackend(() => redis.url)],
])('the key cache with the %s store, provider trouble', (_name, makeBackend) => {
  const h = useKeyCache(makeBackend);

  it.each(['down', 'garbage'] as const)('Google %s: keeps verifying with the last good keys within the stale grace, then fails closed', async (mode) => {
    h.fake.maxAge = 3600;
    const s = await h.source();
    const good = await s.getKey(h.fake.current.kid);
    h.fake.mode = mode;
    h.clock.advance(2 * HOUR);
    expect(await s.getKey(h.fake.current.kid)).toBe(good);
    await s.settled();
    expect(h.fake.fetchCount).toBe(2);
    expect(s.stats).toMatchObject({ fetchFailures: 1, staleServed: 1 });
    expect(h.log.lines.filter((l) => l.level === 'warn').map((l) => l.message)).toEqual(['Fetching Google signing keys failed; verifying with the last good keys']);
    // The failure is remembered: the next request does not hit Google again.
    expect(await s.getKey(h.fake.current.kid)).toBe(good);
    await s.settled();
    expect(h.fake.fetchCount).toBe(2);

    // A fresh instance during the outage also gets the stale keys (from the shared cache).
    const cold = await h.source();
    expect(await cold.getKey(h.fake.current.kid)).toMatchObject(rs256);

    h.clock.advance(STALE_GRACE_MS); // 1 h freshness + 2 h + 6 h > freshness + grace
    await expectUnavailable(s.getKey(h.fake.current.kid));
  });

  it('with no keys at all: keys_unavailable at once, and the failure is remembered', async () => {
    h.fake.mode = 'down';
    const s = await h.source({ clock: h.clock });
    // The clock stands still: nothing here may wait for a timer.
    const first = track(s.getKey(h.fake.current.kid));
    await until(() => first.settled, 'the first look-up to fail');
    await expectUnavailable(first.result.then((r) => (r.status === 'rejected' ? Promise.reject(r.reason) : r.value)));
    const results = await Promise.allSettled(Array.from({ length: 50 }, () => s.getKey(h.fake.current.kid)));
    expect(results.every((r) => r.status === 'rejected' && (r.reason as { reason?: string }).reason === 'keys_unavailable')).toBe(true);
    expect(h.fake.fetchCount).toBe(1);
    // Counted per refresh that found no keys: the first look-up's, and the one the 50 shared.
    expect(s.stats.unavailable).toBe(2);
    expect(h.log.lines.filter((l) => l.level === 'warn').map((l) => l.message)).toEqual([
      'Fetching Google signing keys failed and no usable keys are cached; Google sign-in is unavailable',
    ]);
    // After the back-off, Google is tried again; once it is back, keys load.
    h.fake.mode = 'ok';
    h.clock.advance(KEY_SET_DEFAULTS.failureBackoffMs - 1);
    await expectUnavailable(s.getKey(h.fake.current.kid));
    expect(h.fake.fetchCount).toBe(1);
    h.clock.advance(1);
    expect(await s.getKey(h.fake.current.kid)).toMatchObject(rs256);
    expect(h.fake.fetchCount).toBe(2);
  });

  it('a hanging endpoint costs one timeout (timeoutMs < keyWaitMs), then requests fail at once', async () => {
    h.fake.mode = 'hang';
    const s = await h.source({ clock: h.clock, timeoutMs: 300 });
    const first = track(s.getKey(h.fake.current.kid));
    await until(() => h.fake.fetchCount === 1, 'the request to reach Google');
    h.clock.advance(299);
    await turn();
    expect(first.settled).toBe(false);
    h.clock.advance(1);
    await expectUnavailable(first.result.then((r) => (r.status === 'rejected' ? Promise.reject(r.reason) : r.value)));
    expect(s.stats.fetchFailures).toBe(1);
    // The clock stands still from here: these cannot wait for anything.
    const rest = await Promise.allSettled(Array.from({ length: 20 }, () => s.getKey(h.fake.current.kid)));
    expect(rest.every((r) => r.status === 'rejected' && (r.reason as { reason?: string }).reason === 'keys_unavailable')).toBe(true);
    expect(h.fake.fetchCount).toBe(1);
  });

  it('with no keys, a request waits keyWaitMs for a hanging fetch, then fails; the fetch goes on until timeoutMs', async () => {
    h.fake.mode = 'hang';
    const s = await h.source({ clock: h.clock }); // keyWaitMs 2 s, timeoutMs 5 s
    const first = track(s.getKey(h.fake.current.kid));
    await until(() => h.fake.fetchCount === 1, 'the request to reach Google');
    h.clock.advance(KEY_SET_DEFAULTS.keyWaitMs - 1);
    await turn();
    expect(first.settled).toBe(false);
    h.clock.advance(1);
    expect(await first.result).toMatchObject({ status: 'rejected', reason: { reason: 'keys_unavailable' } });
    expect(s.stats.fetchFailures).toBe(0); // still fetching
    const settled = track(s.settled());
    h.clock.advance(KEY_SET_DEFAULTS.timeoutMs - KEY_SET_DEFAULTS.keyWaitMs - 1);
    await turn();
    expect(settled.settled).toBe(false);
    h.clock.advance(1);
    await settled.result;
    expect(s.stats.fetchFailures).toBe(1);
    expect(h.fake.fetchCount).toBe(1);
  });

  it('applies the timeout to slow answers, and accepts answers within it', async () => {
    // Distinct from every other default period (the store-call timeout is 1 s), so the timer
    // the test waits for can only be the request's.
    const timeoutMs = 1_234;
    // The answer is held until the test releases it. The request's timeout timer is armed before
    // the request is sent, so once a request is waiting at the gate its timer is pending.
    let release: (() => void) | null = null;
    const gated: typeof fetch = async (url, init) => {
      await new Promise<void>((resolve) => (release = resolve));
      return fetch(url, init);
    };
    const atGate = async () => {
      await until(() => release !== null, 'the key request to reach the gate');
      await h.clock.timerPending(timeoutMs);
    };
    const answer = () => {
      const r = release!;
      release = null;
      r();
    };
    const late = await h.source({ clock: h.clock, timeoutMs, fetch: gated });
    const p = track(late.getKey(h.fake.current.kid));
    await atGate();
    h.clock.advance(timeoutMs);
    answer();
    await expectUnavailable(p.result.then((r) => (r.status === 'rejected' ? Promise.reject(r.reason) : r.value)));

    h.clock.advance(KEY_SET_DEFAULTS.failureBackoffMs);
    const inTime = await h.source({ clock: h.clock, timeoutMs, fetch: gated });
    const q = track(inTime.getKey(h.fake.current.kid));
    await atGate();
    h.clock.advance(timeoutMs - 1);
    answer();
    expect(await q.result).toMatchObject({ status: 'fulfilled', value: rs256 });
  });

  it.each([
    ['HTML', '<html>oops</html>'],
    ['JSON null', 'null'],
    ['keys not an array', '{"keys":"nope"}'],
    ['no keys', '{"keys":[]}'],
    ['only an EC key', JSON.stringify({ keys: [{ kty: 'EC', crv: 'P-256', kid: 'ec', x: 'AAAA', y: 'AAAA' }] })],
    ['an RSA key with a broken modulus', JSON.stringify({ keys: [{ kty: 'RSA', kid: 'r', n: 'not base64!', e: 'AQAB' }] })],
    ['truncated JSON', '{"keys":[{"kty":"RSA"'],
    ['an RSA key with a zero modulus', JSON.stringify({ keys: [{ kty: 'RSA', kid: 'z', n: 'A'.repeat(342), e: 'AQAB' }] })],
  ])('a garbage JWKS body (%s) is a failure', async (_label, body) => {
    h.fake.mode = 'garbage';
    h.fake.garbageBody = body;
    const s = await h.source();
    await expectUnavailable(s.getKey(h.fake.current.kid));
    expect(s.stats.fetchFailures).toBe(1);
    expect(await (await h.backend.instance()).keySets.get('google')).toBeNull();
  });

  it('keeps only RS256-compatible RSA keys of a mixed set', async () => {
    const rsa = h.fake.current;
    const ec = await h.fake.newKey('ES256');
    const rs512 = { ...(await h.fake.newKey()).publicJwk, alg: 'RS512', kid: 'rs512' };
    const enc = { ...(await h.fake.newKey()).publicJwk, use: 'enc', kid: 'enc' };
    const weak = await h.fake.newKey('RS256', 1024);
    h.fake.mode = 'garbage';
    h.fake.garbageBody = JSON.stringify({ keys: [ec.publicJwk, rs512, enc, weak.publicJwk, { kty: 'RSA' }, 'x', null, rsa.publicJwk] });
    const s = await h.source();
    expect(await s.getKey(rsa.kid)).toMatchObject(rs256);
    for (const kid of [ec.kid, 'rs512', 'enc', weak.kid]) await expectAuthError(s.getKey(kid), 'unknown_key');
  });

  it('refuses oversized bodies', async () => {
    h.fake.mode = 'garbage';
    h.fake.garbageBody = JSON.stringify({ keys: [h.fake.current.publicJwk], pad: 'x'.repeat(300 * 1024) });
    const s = await h.source();
    await expectUnavailable(s.getKey(h.fake.current.kid));
    expect(h.log.lines.find((l) => l.level === 'warn')?.fields.error).toBe('BodyTooLarge: the response is too large');
  });

  it('does not follow redirects (redirect: "error")', async () => {
    const inits: RequestInit[] = [];
    const s = await h.source({ jwksUri: h.fake.redirectUri, fetch: (input, init) => (inits.push(init ?? {}), fetch(input, init)) });
    await expectUnavailable(s.getKey(h.fake.current.kid));
    expect(h.fake.redirectCount).toBe(1);
    expect(h.fake.fetchCount).toBe(0);
    expect(inits[0]?.redirect).toBe('error');
    expect(inits[0]?.signal).toBeInstanceOf(AbortSignal);
  });

  it('ignores a corrupt shared-cache record and fetches', async () => {
    const stores = await h.backend.instance();
    await stores.keySets.put('google', { jwks: { keys: [{ kty: 'oct', k: 'AAAA', kid: h.fake.current.kid }] }, fetchedAt: h.clock.now(), expiresAt: h.clock.now() + HOUR }, HOUR);
    const s = await h.source();
    expect(await s.getKey(h.fake.current.kid)).toMatchObject(rs256);
    expect(h.fake.fetchCount).toBe(1);
  });

  describe('settled() and close()', () => {
    it('settled() resolves once the background refresh of stale keys has finished', async () => {
      const s = await h.source();
      await s.getKey(h.fake.current.kid);
      await h.fake.rotate({ keepOld: true });
      h.fake.mode = 'slow';
      h.fake.slowMs = 200;
      h.clock.advance(2 * HOUR);
      await s.getKey(h.fake.published[1]!.kid); // stale: served at once, refreshed behind
      await s.settled();
      expect(s.stats).toMatchObject({ fetches: 2, staleServed: 1 });
      // The refreshed set is in place: the new kid resolves without another fetch.
      expect(await s.getKey(h.fake.current.kid)).toMatchObject(rs256);
      expect(h.fake.fetchCount).toBe(2);
    });

    it('close() aborts a fetch in flight without counting it as a failure, writes nothing, and starts no other', async () => {
      h.fake.mode = 'hang';
      const s = await h.source({ clock: h.clock });
      const first = track(s.getKey(h.fake.current.kid));
      await until(() => h.fake.fetchCount === 1, 'the request to reach Google');
      await s.close();
      expect(await first.result).toMatchObject({ status: 'rejected', reason: { reason: 'keys_unavailable' } });
      expect(s.stats.fetchFailures).toBe(0);
      expect(h.log.lines.filter((l) => l.level === 'warn')).toEqual([]);
      expect(await (await h.backend.instance()).keySets.get('google')).toBeNull();
      h.fake.mode = 'ok';
      await expectUnavailable(s.getKey(h.fake.current.kid));
      expect(h.fake.fetchCount).toBe(1);
      expect(h.clock.pendingDelays()).toEqual([]);
    });
  });
});
