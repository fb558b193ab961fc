import { describe, expect, it } from '@jest/globals';
import { AuthError, RateLimitedError, ServiceUnavailableError } from '../../src/errors.js';
import { AuthRateLimits } from '../../src/rate-limit/auth-limits.js';
import { issueRefreshToken } from '../../src/sessions/refresh-token.js';
import { randomId } from '../../src/sessions/ids.js';
import { MemoryRateLimitStore } from '../../src/store/memory/rate-limits.js';
import type { RateLimitStore } from '../../src/store/types.js';
import { FakeClock } from '../support/fake-google.js';

const rule = (limit: number) => ({ limit, windowMs: 60_000 });
const RULES = { signInPerAddress: rule(3), authFailuresPerAddress: rule(2), signInPerAccount: rule(2), refreshPerSession: rule(2) };

function setup(store: RateLimitStore = new MemoryRateLimitStore()) {
  const clock = new FakeClock(1_700_000_000_000);
  const lines: { level: string; obj: object; msg: string }[] = [];
  const log = { info: (obj: object, msg: string) => lines.push({ level: 'info', obj, msg }), error: (obj: object, msg: string) => lines.push({ level: 'error', obj, msg }) };
  return { limits: new AuthRateLimits({ store, rules: RULES, now: clock.now, log }), clock, lines };
}

const profile = (sub: string) => async () => ({ sub });
const rejected = (reason: 'malformed' | 'invalid_refresh_token') => async (): Promise<never> => {
  throw new AuthError(reason);
};

async function caught(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => null,
    (e: unknown) => e,
  );
}

describe('AuthRateLimits', () => {
  it('refuses a sign-in over the address budget without calling the verifier', async () => {
    const { limits } = setup();
    for (let i = 0; i < 3; i++) await limits.signIn('203.0.113.1', profile(`s${i}`));
    let called = false;
    const err = await caught(
      limits.signIn('203.0.113.1', async () => {
        called = true;
        return { sub: 'x' };
      }),
    );
    expect(err).toBeInstanceOf(RateLimitedError);
    expect((err as RateLimitedError).extensions).toEqual({ code: 'RATE_LIMITED', retryAfter: 20 });
    expect(called).toBe(false);
  });

  it('counts rejected tokens per address and then refuses before verifying, for sign-in and refresh alike', async () => {
    const { limits, clock } = setup();
    expect(await caught(limits.signIn('2001:db8::1', rejected('malformed')))).toBeInstanceOf(AuthError);
    expect(await caught(limits.refresh('2001:db8::2', 'junk', rejected('invalid_refresh_token')))).toBeInstanceOf(AuthError);
    const err = await caught(limits.signIn('2001:db8::3', profile('s')));
    expect((err as RateLimitedError).extensions).toEqual({ code: 'RATE_LIMITED', retryAfter: 30 });
    clock.advance(30_000);
    await expect(limits.signIn('2001:db8::3', profile('s'))).resolves.toEqual({ sub: 's' });
  });

  it('counts an account only after verification, and refuses it after the budget', async () => {
    const { limits } = setup();
    expect(await caught(limits.signIn('192.0.2.1', rejected('malformed')))).toBeInstanceOf(AuthError);
    await limits.signIn('192.0.2.2', profile('acct'));
    await limits.signIn('192.0.2.3', profile('acct'));
    const err = await caught(limits.signIn('192.0.2.4', profile('acct')));
    expect((err as RateLimitedError).message).toMatch(/this account/);
  });

  it('counts a session’s refreshes only when they succeed, and refuses before rotating', async () => {
    const { limits } = setup();
    const { token } = issueRefreshToken(randomId(), randomId());
    for (const addr of ['198.51.100.1', '198.51.100.2']) await caught(limits.refresh(addr, token, rejected('invalid_refresh_token')));
    // Two failures from other addresses did not spend the session's budget.
    await limits.refresh('198.51.100.3', token, async () => 'ok');
    await limits.refresh('198.51.100.3', token, async () => 'ok');
    let rotated = false;
    const err = await caught(
      limits.refresh('198.51.100.3', token, async () => {
        rotated = true;
        return 'ok';
      }),
    );
    expect((err as RateLimitedError).message).toMatch(/session/);
    expect(rotated).toBe(false);
  });

  it('fails closed with SERVICE_UNAVAILABLE when the store fails, but keeps the client’s own rejection', async () => {
    const broken: RateLimitStore = {
      hit: async () => {
        throw new Error('connection refused');
      },
      peek: async () => {
        throw new Error('connection refused');
      },
    };
    const { limits, lines } = setup(broken);
    expect(await caught(limits.signIn('192.0.2.1', profile('s')))).toBeInstanceOf(ServiceUnavailableError);
    expect(lines.some((l) => l.level === 'error')).toBe(true);

    // Checks pass, the token is rejected, counting the failure fails: the client still learns why.
    const store = new MemoryRateLimitStore();
    const flaky: RateLimitStore = {
      peek: (...a) => store.peek(...a),
      hit: async (kind, ...rest) => {
        if (kind === 'auth-fail-addr') throw new Error('timeout');
        return store.hit(kind, ...rest);
      },
    };
    const err = await caught(setup(flaky).limits.signIn('192.0.2.1', rejected('malformed')));
    expect(err).toBeInstanceOf(AuthError);
  });
});
