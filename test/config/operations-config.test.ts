import { describe, expect, it } from '@jest/globals';
import { loadConfig } from '../../src/config/index.js';
import { problems } from './problems.js';

const prod = { NODE_ENV: 'production', GOOGLE_CLIENT_IDS: 'x', AUTH_ISSUER: 'https://auth.example.com' };

describe('configuration: Redis topologies and shutdown', () => {
  it('reads a single node from REDIS_URL', () => {
    const c = loadConfig({ ...prod, REDIS_URL: 'redis://user:pw@10.0.0.5:6380/2' });
    // One way to reach Redis (the gateway and `npm run user` both read topology): no separate url.
    expect(c.redis).toEqual({ keyPrefix: 'ag:', topology: { kind: 'standalone', url: 'redis://user:pw@10.0.0.5:6380/2' } });
  });

  it('reads Sentinel: host:port list (IPv6 in brackets), master name, passwords', () => {
    const c = loadConfig({
      ...prod,
      REDIS_SENTINELS: 'sentinel-1:26379, 10.0.0.7:26380,[fd00::1]:26379',
      REDIS_SENTINEL_NAME: 'mymaster',
      REDIS_SENTINEL_PASSWORD: 'sp',
      REDIS_PASSWORD: 'dp',
    });
    expect(c.redis.topology).toEqual({
      kind: 'sentinel',
      sentinels: [
        { host: 'sentinel-1', port: 26379 },
        { host: '10.0.0.7', port: 26380 },
        { host: 'fd00::1', port: 26379 },
      ],
      name: 'mymaster',
      sentinelPassword: 'sp',
      username: null,
      password: 'dp',
    });
  });

  it('reads Cluster seed nodes and data-node credentials', () => {
    const c = loadConfig({ ...prod, REDIS_CLUSTER_NODES: 'redis-0:6379,redis-1:6379', REDIS_USERNAME: 'gw', REDIS_PASSWORD: 'pw' });
    expect(c.redis.topology).toEqual({
      kind: 'cluster',
      nodes: [
        { host: 'redis-0', port: 6379 },
        { host: 'redis-1', port: 6379 },
      ],
      username: 'gw',
      password: 'pw',
    });
  });

  it('uses the embedded store only when no topology is set, and never in production', () => {
    expect(loadConfig({}).redis.topology).toBeNull();
    expect(problems({ ...prod }).REDIS_URL).toMatch(/REDIS_SENTINELS.*REDIS_CLUSTER_NODES/);
  });

  it('refuses ambiguous or incomplete topologies, naming the variable', () => {
    expect(problems({ REDIS_URL: 'redis://a:1', REDIS_CLUSTER_NODES: 'b:2' })).toHaveProperty('REDIS_CLUSTER_NODES', expect.stringMatching(/only one/));
    expect(problems({ REDIS_SENTINELS: 'a:1', REDIS_CLUSTER_NODES: 'b:2' })).toHaveProperty('REDIS_CLUSTER_NODES');
    expect(problems({ REDIS_SENTINELS: 'a:1' })).toHaveProperty('REDIS_SENTINEL_NAME', expect.stringMatching(/required/));
    expect(problems({ REDIS_CLUSTER_NODES: 'redis-0' })).toHaveProperty('REDIS_CLUSTER_NODES', expect.stringMatching(/host:port/));
    expect(problems({ REDIS_CLUSTER_NODES: 'redis-0:99999' })).toHaveProperty('REDIS_CLUSTER_NODES');
    expect(problems({ REDIS_SENTINELS: 'a b:1', REDIS_SENTINEL_NAME: 'm' })).toHaveProperty('REDIS_SENTINELS');
    expect(problems({ REDIS_URL: 'redis://a:1', REDIS_PASSWORD: 'pw' })).toHaveProperty('REDIS_PASSWORD', expect.stringMatching(/in the URL/));
  });

  it('reads the shutdown timings, with defaults', () => {
    expect(loadConfig({}).shutdown).toEqual({ delayMs: 0, timeoutMs: 10_000 });
    expect(loadConfig({ SHUTDOWN_DELAY: '5s', SHUTDOWN_TIMEOUT: '25s' }).shutdown).toEqual({ delayMs: 5_000, timeoutMs: 25_000 });
    expect(problems({ SHUTDOWN_TIMEOUT: '100ms' })).toHaveProperty('SHUTDOWN_TIMEOUT');
    expect(problems({ SHUTDOWN_DELAY: 'soon' })).toHaveProperty('SHUTDOWN_DELAY');
  });
});
