import { describe, expect, it } from '@jest/globals';
import { loadConfig } from '../../src/config/index.js';
import { TEST_WEBHOOK_SECRET } from '../support/webhook-receiver.js';
import { problems } from './problems.js';

/** EVENTS_RETENTION and the WEBHOOK_* section (src/config/sections/events.ts, webhooks.ts). */
const REDIS = { REDIS_URL: 'redis://127.0.0.1:6379' };
const ON = { ...REDIS, WEBHOOK_ENDPOINTS: 'https://a.example.com/hook, http://127.0.0.1:9000/h', WEBHOOK_SECRET: TEST_WEBHOOK_SECRET };

describe('account events and webhooks configuration', () => {
  it('defaults: 7 days of events, no webhooks; 10 s attempts, first retry after 30 s, retried for 3 days', () => {
    const c = loadConfig({});
    expect(c.events).toEqual({ retentionMs: 7 * 86_400_000 });
    expect(c.webhooks).toEqual({ endpoints: [], secret: null, timeoutMs: 10_000, retryInitialMs: 30_000, retryForMs: 3 * 86_400_000 });
    expect(loadConfig(ON).webhooks).toMatchObject({ endpoints: ['https://a.example.com/hook', 'http://127.0.0.1:9000/h'], secret: TEST_WEBHOOK_SECRET });
  });

  it.each([
    ['plain http off loopback', { ...ON, WEBHOOK_ENDPOINTS: 'http://hooks.example.com/e' }, 'WEBHOOK_ENDPOINTS', '"http://hooks.example.com/e" is not an https: URL without credentials (http: only on a loopback address)'],
    ['credentials in the URL', { ...ON, WEBHOOK_ENDPOINTS: 'https://u:p@hooks.example.com/e' }, 'WEBHOOK_ENDPOINTS', '"https://u:p@hooks.example.com/e" is not an https: URL without credentials (http: only on a loopback address)'],
    ['not a URL', { ...ON, WEBHOOK_ENDPOINTS: 'hooks' }, 'WEBHOOK_ENDPOINTS', '"hooks" is not an https: URL without credentials (http: only on a loopback address)'],
    ['an endpoint twice', { ...ON, WEBHOOK_ENDPOINTS: 'https://a.example.com/h,https://a.example.com/h' }, 'WEBHOOK_ENDPOINTS', 'lists an endpoint twice'],
    ['no Redis', { WEBHOOK_ENDPOINTS: 'https://a.example.com/h', WEBHOOK_SECRET: TEST_WEBHOOK_SECRET }, 'WEBHOOK_ENDPOINTS', 'needs Redis (REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES): deliveries are queued there'],
    ['no secret', { ...REDIS, WEBHOOK_ENDPOINTS: 'https://a.example.com/h' }, 'WEBHOOK_SECRET', 'is required with WEBHOOK_ENDPOINTS (e.g. `echo whsec_$(openssl rand -base64 32)`)'],
    ['a secret of the wrong form', { ...ON, WEBHOOK_SECRET: 'hunter2-hunter2-hunter2-hunter2-hunter2' }, 'WEBHOOK_SECRET', 'must be whsec_ followed by the base64 of 24 to 64 random bytes'],
    ['a first retry that could take over a live attempt', { ...ON, WEBHOOK_TIMEOUT: '20s', WEBHOOK_RETRY_INITIAL: '40s' }, 'WEBHOOK_RETRY_INITIAL', 'must be more than twice WEBHOOK_TIMEOUT, so an attempt in progress is never taken over by another instance'],
    ['retries shorter than a day', { ...ON, WEBHOOK_RETRY_FOR: '12h' }, 'WEBHOOK_RETRY_FOR', 'must be at least 24h'],
    ['retries outliving the stream', { ...ON, WEBHOOK_RETRY_FOR: '7d' }, 'WEBHOOK_RETRY_FOR', 'must be shorter than EVENTS_RETENTION (the stream must still hold an event while its delivery is retried)'],
    ['a retention under an hour', { EVENTS_RETENTION: '30m' }, 'EVENTS_RETENTION', 'must be at least 1h'],
  ])('refuses %s', (_name, env, variable, message) => {
    expect(problems(env as Record<string, string>)).toEqual({ [variable]: message });
  });

  it('never repeats the secret in a message', () => {
    const secret = 'not-a-whsec-but-a-real-password-0123456789';
    expect(JSON.stringify(problems({ ...ON, WEBHOOK_SECRET: secret }))).not.toContain(secret);
  });
});
