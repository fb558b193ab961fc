import { describe, expect, it } from '@jest/globals';
import { loadConfig } from '../../src/config/index.js';
import { problems } from './problems.js';
import { fastifyTrustProxy } from '../../src/config/trust-proxy.js';

describe('configuration: abuse resistance', () => {
  it('has documented defaults', () => {
    const c = loadConfig({});
    expect(c.trustProxy).toBe(false);
    expect(c.rateLimits).toEqual({
      signInPerAddress: { limit: 30, windowMs: 60_000 },
      authFailuresPerAddress: { limit: 10, windowMs: 60_000 },
      signInPerAccount: { limit: 10, windowMs: 600_000 },
      refreshPerSession: { limit: 10, windowMs: 60_000 },
    });
    expect(c.graphql).toEqual({ maxDepth: 6, maxAliases: 15, maxTokens: 1000, maxCost: 5000 });
  });

  it('reads TRUST_PROXY as never, a hop count, or a list of named ranges, addresses and CIDRs', () => {
    expect(loadConfig({ TRUST_PROXY: '' }).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: 'false' }).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: '2' }).trustProxy).toBe(2);
    expect(loadConfig({ TRUST_PROXY: 'loopback' }).trustProxy).toEqual(['loopback']);
    expect(loadConfig({ TRUST_PROXY: ' loopback, 10.0.0.0/8 ,2001:db8::/32, 192.0.2.1, uniquelocal' }).trustProxy).toEqual([
      'loopback',
      '10.0.0.0/8',
      '2001:db8::/32',
      '192.0.2.1',
      'uniquelocal',
    ]);
  });

  it('refuses TRUST_PROXY values that would trust everyone or mean nothing', () => {
    for (const bad of ['true', 'TRUE', '0', '33', 'loopbak', '10.0.0.0/33', '2001:db8::/129', '10.0.0/8', 'example.com', '10.0.0.0/x']) {
      expect({ bad, problems: Object.keys(problems({ TRUST_PROXY: bad })) }).toEqual({ bad, problems: ['TRUST_PROXY'] });
    }
    expect(problems({ TRUST_PROXY: 'true' }).TRUST_PROXY).toMatch(/any client/);
  });

  it('maps a hop count to proxy-addr’s meaning (the socket peer and the next hops − 1 are proxies)', () => {
    const trust = fastifyTrustProxy(2) as (address: string, hop: number) => boolean;
    expect([0, 1, 2, 3].map((hop) => trust('198.51.100.1', hop))).toEqual([true, true, false, false]);
    expect(fastifyTrustProxy(false)).toBe(false);
    expect(fastifyTrustProxy(['loopback'])).toEqual(['loopback']);
  });

  it('reads rate limits as <limit>/<window> and refuses nonsense', () => {
    const c = loadConfig({ RATE_LIMIT_SIGN_IN_PER_ADDRESS: '5/90s', RATE_LIMIT_REFRESH_PER_SESSION: ' 100 / 1h ' });
    expect(c.rateLimits.signInPerAddress).toEqual({ limit: 5, windowMs: 90_000 });
    expect(c.rateLimits.refreshPerSession).toEqual({ limit: 100, windowMs: 3_600_000 });
    const bad = problems({
      RATE_LIMIT_SIGN_IN_PER_ADDRESS: '30',
      RATE_LIMIT_AUTH_FAILURES_PER_ADDRESS: '0/1m',
      RATE_LIMIT_SIGN_IN_PER_ACCOUNT: '10/500ms',
      RATE_LIMIT_REFRESH_PER_SESSION: '5000/1s',
    });
    expect(Object.keys(bad).sort()).toEqual([
      'RATE_LIMIT_AUTH_FAILURES_PER_ADDRESS',
      'RATE_LIMIT_REFRESH_PER_SESSION',
      'RATE_LIMIT_SIGN_IN_PER_ACCOUNT',
      'RATE_LIMIT_SIGN_IN_PER_ADDRESS',
    ]);
    expect(Object.keys(problems({ RATE_LIMIT_SIGN_IN_PER_ADDRESS: '10/2d' }))).toEqual(['RATE_LIMIT_SIGN_IN_PER_ADDRESS']);
  });

  it('reads GraphQL limits as bounded positive integers', () => {
    expect(loadConfig({ GRAPHQL_MAX_DEPTH: '8', GRAPHQL_MAX_TOKENS: '2000' }).graphql).toMatchObject({ maxDepth: 8, maxTokens: 2000 });
    const bad = problems({ GRAPHQL_MAX_DEPTH: '0', GRAPHQL_MAX_ALIASES: '-1', GRAPHQL_MAX_TOKENS: 'many', GRAPHQL_MAX_COST: '1e6' });
    expect(Object.keys(bad).sort()).toEqual(['GRAPHQL_MAX_ALIASES', 'GRAPHQL_MAX_COST', 'GRAPHQL_MAX_DEPTH', 'GRAPHQL_MAX_TOKENS']);
  });
});
