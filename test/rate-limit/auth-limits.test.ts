import { describe, expect, it } from '@jest/globals';
import { RateLimitedError, ServiceUnavailableError } from '../../src/errors.js';
import { AuthRateLimits, type RateLimitKind } from '../../src/rate-limit/auth-limits.js';
import { gcraRule } from '../../src/store/gcra.js';
import { MemoryRateLimitStore } from '../../src/store/memory/rate-limits.js';
import type { RateLimitStore } from '../../src/store/types.js';
import { FakeClock } from '../support/fake-google.js';

const rule = (limit: number) => ({ limit, windowMs: 60_000 });
const RULES = { signInPerAddress: rule(3), authFailuresPerAddress: rule(2), signInPerAccount: rule(5), refreshPerSession: rule(4) };

function setup(store: RateLimitStore = new MemoryRateLimitStore()) {
  const clock = new FakeClock(1_700_000_000_000);
  const lines: { level: string; obj: object; msg: string }[] = [];
  const limited: RateLimitKind[] = [];
  const log = { info: (obj: object, msg: string) => lines.push({ level: 'info', obj, msg }), error: (obj: object, msg: string) => lines.push({ level: 'error', obj, msg }) };
  return { limits: new AuthRateLimits({ store, rules: RULES, now: clock.now, log, onLimited: (k) => limited.push(k) }), clock, lines, limited };
}

async function caught(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => null,
    (e: unknown) => e,
  );
}

describe('AuthRateLimits', () => {
  it('counts sign-in attempts per address and refuses over the budget with the exact wait', async () => {
    const { limits, limited, lines } = setup();
    for (let i = 0; i < 3; i++) await limits.checkSignIn('203.0.113.1');
    const err = await caught(limits.checkSignIn('203.0.113.1'));
    expect(err).toBeInstanceOf(RateLimitedError);
    expect((err as RateLimitedError).extensions).toEqual({ code: 'RATE_LIMITED', retryAfter: 20 });
    expect((err as RateLimitedError).message).toBe('Too many sign-in attempts from this network; retry later.');
    expect(limited).toEqual(['sign-in-addr']);
    expect(lines).toEqual([{ level: 'info', obj: { limit: 'sign-in-addr', retryAfter: 20 }, msg: 'rate limited' }]);
    await expect(limits.checkSignIn('203.0.113.2')).resolves.toBeUndefined(); // another address
  });

  it('counts rejected tokens per address (IPv6 per /64); once spent, sign-in and refresh are refused', async () => {
    const { limits, clock } = setup();
    await limits.countRejection('2001:db8::1');
    await limits.countRejection('2001:db8::2');
    for (const check of [() => limits.checkSignIn('2001:db8::3'), () => limits.checkRefresh('2001:db8::4')]) {
      expect(((await caught(check())) as RateLimitedError).extensions).toEqual({ code: 'RATE_LIMITED', retryAfter: 30 });
    }
    clock.advance(30_000);
    await expect(limits.checkSignIn('2001:db8::3')).resolves.toBeUndefined();
    await expect(limits.checkRefresh('2001:db8:0:1::1')).resolves.toBeUndefined(); // another /64
  });

  it('checking the refresh budget of an address counts nothing', async () => {
    const { limits } = setup();
    for (let i = 0; i < 10; i++) await limits.checkRefresh('198.51.100.1');
    await limits.countRejection('198.51.100.1');
    await expect(limits.checkRefresh('198.51.100.1')).resolves.toBeUndefined();
  });

  it('counts nonce requests per address, apart from sign-in attempts, with the same rule', async () => {
    const { limits } = setup();
    for (let i = 0; i < 3; i++) await limits.checkNonceRequest('192.0.2.9');
    expect(((await caught(limits.checkNonceRequest('192.0.2.9'))) as RateLimitedError).message).toMatch(/nonces/);
    await expect(limits.checkSignIn('192.0.2.9')).resolves.toBeUndefined();
  });

  it('gives the store the per-account and per-session rules, and turns the store’s refusals into RATE_LIMITED', () => {
    const { limits, limited } = setup();
    expect(limits.perAccount).toEqual(gcraRule(5, 60_000));
    expect(limits.perSession).toEqual(gcraRule(4, 60_000));
    const account = limits.refused('sign-in-account', 12_001);
    expect(account.extensions).toEqual({ code: 'RATE_LIMITED', retryAfter: 13 });
    expect(account.message).toBe('Too many sign-ins to this account; retry later.');
    expect(limits.refused('refresh-session', 1).extensions).toEqual({ code: 'RATE_LIMITED', retryAfter: 1 });
    expect(limited).toEqual(['sign-in-account', 'refresh-session']);
  });

  it('fails closed with SERVICE_UNAVAILABLE when the store fails, but counting a rejection never throws', async () => {
    const broken: RateLimitStore = {
      hit: async () => {
        throw new Error('connection refused');
      },
      peek: async () => {
        throw new Error('connection refused');
      },
    };
    const { limits, lines } = setup(broken);
    for (const check of [limits.checkSignIn('192.0.2.1'), limits.checkRefresh('192.0.2.1'), limits.checkNonceRequest('192.0.2.1')]) {
      expect(await caught(check)).toMatchObject({ extensions: { code: 'SERVICE_UNAVAILABLE', reason: 'store_unavailable' } });
    }
    await expect(limits.countRejection('192.0.2.1')).resolves.toBeUndefined();
    expect(lines.filter((l) => l.level === 'error').map((l) => l.msg)).toEqual(Array(4).fill('rate-limit store call failed'));
    expect(await caught(limits.checkSignIn('192.0.2.1'))).toBeInstanceOf(ServiceUnavailableError);
  });
});
