import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { uniquePrefix, usePrivateRedis } from '../support/env.js';
import { FakeGoogle } from '../support/fake-google.js';
import { ME, REFRESH, SIGN_IN, SIGN_OUT, bearer, type AuthPayloadShape, type GqlResponse } from '../support/gateway.js';
import { GatewayProcess } from '../support/gateway-process.js';

/**
 * Redis stopped while requests flow, against the real built gateway process (a crash would be
 * a crash, not a caught exception), with Redis' append-only file on (`appendfsync always`,
 * as RedisServer runs it): what Redis acknowledged is on disk when it stops.
 */
const BOUND_MS = 3_000; // commandTimeout (2 s) + margin: no request may take longer

interface Outcome {
  kind: 'me' | 'signIn' | 'refresh';
  startedAt: number;
  ms: number;
  status: number;
  code: string | null;
  ok: boolean;
}

describe('Redis outage', () => {
  const redis = usePrivateRedis();
  let google: FakeGoogle;
  let gw: GatewayProcess;
  let subCounter = 0;
  const newSub = () => `4000${Date.now()}${subCounter++}`;

  beforeAll(async () => {
    google = await FakeGoogle.start();
    gw = await GatewayProcess.start({
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: uniquePrefix(),
      GOOGLE_CLIENT_IDS: google.clientId,
      GOOGLE_JWKS_URI: google.jwksUri,
      LOG_LEVEL: 'info',
    });
  });
  afterAll(async () => {
    await gw?.kill();
    await google?.close();
  });

  /** The latest tokens of each session a client was told about (acknowledged). */
  const acknowledged = new Map<string, AuthPayloadShape>();

  async function signIn(): Promise<GqlResponse<{ signInWithGoogle: AuthPayloadShape }>> {
    const res = await gw.gql<{ signInWithGoogle: AuthPayloadShape }>(SIGN_IN, { idToken: await google.mint({ sub: newSub() }) });
    const p = res.body.data?.signInWithGoogle;
    if (p) acknowledged.set(p.refreshToken.split('.')[1]!, p);
    return res;
  }

  async function refresh(sid: string): Promise<GqlResponse<{ refreshSession: AuthPayloadShape }>> {
    const current = acknowledged.get(sid)!;
    const res = await gw.gql<{ refreshSession: AuthPayloadShape }>(REFRESH, { refreshToken: current.refreshToken });
    const next = res.body.data?.refreshSession;
    if (next) acknowledged.set(sid, { ...next, user: current.user });
    return res;
  }

  it('fails closed and promptly while Redis is down, resumes by itself, and keeps every acknowledged session', async () => {
    for (let i = 0; i < 8; i++) expect((await signIn()).body.errors).toBeUndefined();
    for (const sid of [...acknowledged.keys()].slice(0, 4)) expect((await refresh(sid)).body.errors).toBeUndefined();

    // Steady load: four clients, each signing in, calling `me` and refreshing its own session.
    const outcomes: Outcome[] = [];
    let running = true;
    const record = async (kind: Outcome['kind'], work: () => Promise<GqlResponse<Record<string, unknown>>>) => {
      const startedAt = Date.now();
      const t0 = performance.now();
      const res = await work();
      const first = res.body.errors?.[0]?.extensions?.code;
      outcomes.push({ kind, startedAt, ms: performance.now() - t0, status: res.status, code: typeof first === 'string' ? first : null, ok: !res.body.errors });
      return res;
    };
    const client = async (n: number) => {
      let mine: string | null = null;
      for (let i = 0; running; i++) {
        if (!mine) {
          const res = await record('signIn', signIn);
          mine = (res.body.data as { signInWithGoogle?: AuthPayloadShape } | null)?.signInWithGoogle?.refreshToken.split('.')[1] ?? null;
        } else if (i % 3 === 0) {
          await record('refresh', () => refresh(mine!));
        } else {
          const p = acknowledged.get(mine)!;
          const res = await record('me', () => gw.gql(ME, undefined, bearer(p.accessToken)));
          // Authenticated and answered: it must be this user, never an anonymous `me: null`.
          if (!res.body.errors) expect(res.body.data).toEqual({ me: { id: p.user.id, email: 'alice@example.com', name: 'Alice Example' } });
          else expect(res.body.data).toEqual({ me: null });
        }
        await new Promise((r) => setTimeout(r, 20 + n));
      }
    };
    const load = Promise.all([0, 1, 2, 3].map(client));
    await new Promise((r) => setTimeout(r, 500));

    await redis.server.stop();
    const stoppedAt = Date.now();
    // Readiness turns 503 (the probe gives up on Redis within ~2 s); liveness stays 200.
    let ready = 200;
    for (const deadline = Date.now() + 5_000; ready !== 503 && Date.now() < deadline; ) ready = (await fetch(`${gw.url}/readyz`)).status;
    expect(ready).toBe(503);
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
    // Every operation that needs Redis says so, promptly.
    const someone = [...acknowledged.values()][0]!;
    const checks = await Promise.all([
      gw.gql(ME, undefined, bearer(someone.accessToken)),
      gw.gql(SIGN_IN, { idToken: await google.mint({ sub: newSub() }) }),
      gw.gql(REFRESH, { refreshToken: someone.refreshToken }),
      gw.gql(SIGN_OUT, undefined, bearer(someone.accessToken)),
    ]);
    for (const r of checks) {
      expect(r.status).toBe(200);
      expect(r.body.errors?.[0]?.extensions).toEqual({ code: 'SERVICE_UNAVAILABLE', reason: 'store_unavailable' });
    }
    await new Promise((r) => setTimeout(r, 1_500));

    await redis.server.start();
    const restartedAt = Date.now();
    // The gateway reconnects by itself.
    let back = false;
    for (const deadline = Date.now() + 10_000; !back && Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
      back = !(await gw.gql(ME, undefined, bearer(someone.accessToken))).body.errors;
    }
    expect(back).toBe(true);
    expect((await fetch(`${gw.url}/readyz`)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 500));
    running = false;
    await load;

    // The load saw failures during the outage, each of them SERVICE_UNAVAILABLE, each prompt.
    const during = outcomes.filter((o) => o.startedAt >= stoppedAt && o.startedAt < restartedAt);
    expect(during.length).toBeGreaterThan(10);
    expect(during.filter((o) => !o.ok).length).toBeGreaterThan(0);
    for (const o of outcomes) {
      expect(o.status).toBe(200);
      expect(o.ms).toBeLessThan(BOUND_MS);
      if (!o.ok) expect([o.kind, o.code]).toEqual([o.kind, 'SERVICE_UNAVAILABLE']);
    }
    expect(outcomes.filter((o) => o.startedAt >= restartedAt + 1_000).every((o) => o.ok)).toBe(true);

    // Every session a client was told about, before, during or after the outage, still works
    // with its latest tokens; its refresh token rotates once more.
    expect(acknowledged.size).toBeGreaterThan(8);
    for (const [sid, p] of acknowledged) {
      const me = await gw.gql<{ me: { id: string } }>(ME, undefined, bearer(p.accessToken));
      expect([sid, me.body.data?.me?.id]).toEqual([sid, p.user.id]);
      const r = await refresh(sid);
      expect([sid, r.body.errors]).toEqual([sid, undefined]);
    }

    // Still the same process; its output is JSON log lines only (no ioredis "Unhandled error
    // event" on stderr), with a rate-limited warning about the connection.
    expect(gw.alive).toBe(true);
    expect(gw.stderr).toBe('');
    const logs = gw.logs();
    const warnings = logs.filter((l) => l.msg === 'Redis connection error; reconnecting');
    expect(warnings.length).toBeGreaterThanOrEqual(1);
    expect(warnings.length).toBeLessThanOrEqual(3);
    expect(logs.some((l) => l.msg === 'Redis connection ready again')).toBe(true);
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toMatch(/^authgw_redis_command_errors_total\{kind="connection"\} [1-9]/m);
    expect(metrics).toMatch(/^authgw_sign_ins_total\{outcome="unavailable",reason="store_unavailable"\} [1-9]/m);
    expect(metrics).toMatch(/^authgw_redis_up 1$/m);

    expect(await gw.stop()).toEqual({ code: 0, signal: null });
  }, 60_000);
});
