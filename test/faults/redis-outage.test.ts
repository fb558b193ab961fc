import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { uniquePrefix, usePrivateRedis } from '../support/env.js';
import { FakeGoogle } from '../support/fake-google.js';
import { ME, REFRESH, SIGN_IN, SIGN_OUT, bearer, type AuthPayloadShape, type GqlResponse } from '../support/gateway.js';
import { GatewayProcess } from '../support/gateway-process.js';
import { waitFor } from '../support/wait-for.js';

/**
 * Redis stopped while requests flow, against the real built gateway process (a crash would be
 * a crash, not a caught exception), with Redis' append-only file on (`appendfsync always`,
 * as RedisServer runs it): what Redis acknowledged is on disk when it stops.
 */
const BOUND_MS = 3_000; // commandTimeout (2 s) + margin: no request may take longer

interface Outcome {
  client: number;
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
      GOOGLE_RISC_CONFIG_URI: google.riscConfigUri,
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

  // The outage, case by case; each case continues from the state the previous one left.
  const outcomes: Outcome[] = [];
  let running = false;
  let load: Promise<unknown> = Promise.resolve();
  let stoppedAt = 0;
  let restartedAt = 0;
  const CLIENTS = [0, 1, 2, 3];
  afterAll(async () => {
    running = false;
    await load.catch(() => undefined);
  });

  /** One client of the steady load: signs in, then calls `me` and refreshes its own session. */
  const client = async (n: number) => {
    const record = async (kind: Outcome['kind'], work: () => Promise<GqlResponse<Record<string, unknown>>>) => {
      const startedAt = Date.now();
      const t0 = performance.now();
      const res = await work();
      const first = res.body.errors?.[0]?.extensions?.code;
      outcomes.push({ client: n, kind, startedAt, ms: performance.now() - t0, status: res.status, code: typeof first === 'string' ? first : null, ok: !res.body.errors });
      return res;
    };
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
      await new Promise((r) => setTimeout(r, 20 + n)); // pacing of the load, not a wait for anything
    }
  };

  it('serves sign-ins, refreshes and a steady load of four clients while Redis is up', async () => {
    for (let i = 0; i < 8; i++) expect((await signIn()).body.errors).toBeUndefined();
    for (const sid of [...acknowledged.keys()].slice(0, 4)) expect((await refresh(sid)).body.errors).toBeUndefined();
    running = true;
    load = Promise.all(CLIENTS.map(client));
    load.catch(() => undefined); // awaited (and its failure reported) once the load stops
    await waitFor('every client to have signed in and been answered twice more', () => CLIENTS.every((n) => outcomes.filter((o) => o.client === n && o.ok).length >= 3));
    expect(outcomes.filter((o) => !o.ok)).toEqual([]);
  });

  it('turns readiness 503 once Redis stops (the probe gives up within ~2 s) while liveness stays 200', async () => {
    await redis.server.stop();
    stoppedAt = Date.now();
    await waitFor('/readyz to answer 503', async () => (await fetch(`${gw.url}/readyz`)).status === 503, { timeoutMs: 5_000 });
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
  });

  it('answers me, sign-in, refresh and sign-out with SERVICE_UNAVAILABLE (store_unavailable), promptly', async () => {
    const someone = [...acknowledged.values()][0]!;
    const t0 = performance.now();
    const checks = await Promise.all([
      gw.gql(ME, undefined, bearer(someone.accessToken)),
      gw.gql(SIGN_IN, { idToken: await google.mint({ sub: newSub() }) }),
      gw.gql(REFRESH, { refreshToken: someone.refreshToken }),
      gw.gql(SIGN_OUT, undefined, bearer(someone.accessToken)),
    ]);
    expect(performance.now() - t0).toBeLessThan(BOUND_MS);
    for (const r of checks) {
      expect(r.status).toBe(200);
      expect(r.body.errors?.[0]?.extensions).toEqual({ code: 'SERVICE_UNAVAILABLE', reason: 'store_unavailable' });
    }
  });

  it('fails the steady load closed meanwhile: its failures are SERVICE_UNAVAILABLE, each within the bound', async () => {
    const during = () => outcomes.filter((o) => o.startedAt >= stoppedAt);
    await waitFor('the load to run into the outage', () => during().length > 10 && during().some((o) => !o.ok));
    for (const o of during()) {
      expect(o.status).toBe(200);
      expect(o.ms).toBeLessThan(BOUND_MS);
      if (!o.ok) expect([o.kind, o.code]).toEqual([o.kind, 'SERVICE_UNAVAILABLE']);
    }
  });

  it('logs a warning while its reconnect attempts fail', async () => {
    // Also what keeps the outage long enough to matter: Redis returns only after the gateway
    // has tried to reconnect and failed (a restart quicker than the first retry, 100 ms, would
    // go unnoticed, and rightly so).
    await waitFor('the connection warning', () => gw.logs().some((l) => l.msg === 'Redis connection error; reconnecting'));
  });

  it('reconnects by itself once Redis is back; readiness returns to 200', async () => {
    await redis.server.start();
    restartedAt = Date.now();
    const someone = [...acknowledged.values()][0]!;
    await waitFor('an authenticated request to succeed again', async () => !(await gw.gql(ME, undefined, bearer(someone.accessToken))).body.errors, { intervalMs: 100 });
    expect((await fetch(`${gw.url}/readyz`)).status).toBe(200);
  });

  it('serves every request started a second after Redis is back; no request of the whole run took longer than the bound', async () => {
    const recovered = restartedAt + 1_000;
    await waitFor('every client to finish two requests started a second after the restart', () =>
      CLIENTS.every((n) => outcomes.filter((o) => o.client === n && o.startedAt >= recovered).length >= 2),
    );
    running = false;
    await load;
    expect(outcomes.filter((o) => o.startedAt >= recovered && !o.ok)).toEqual([]);
    expect(outcomes.filter((o) => o.startedAt >= stoppedAt && o.startedAt < restartedAt).length).toBeGreaterThan(10);
    for (const o of outcomes) {
      expect(o.status).toBe(200);
      expect(o.ms).toBeLessThan(BOUND_MS);
      if (!o.ok) expect([o.kind, o.code]).toEqual([o.kind, 'SERVICE_UNAVAILABLE']);
    }
  });

  it('keeps every session a client was told about (before, during or after the outage): its latest tokens work and rotate once more', async () => {
    expect(acknowledged.size).toBeGreaterThan(8);
    for (const [sid, p] of acknowledged) {
      const me = await gw.gql<{ me: { id: string } }>(ME, undefined, bearer(p.accessToken));
      expect([sid, me.body.data?.me?.id]).toEqual([sid, p.user.id]);
      const r = await refresh(sid);
      expect([sid, r.body.errors]).toEqual([sid, undefined]);
    }
  });

  it('stays one process writing JSON log lines only, with a rate-limited connection warning and metrics that count the outage', async () => {
    // No ioredis "Unhandled error event" on stderr; one warning per 10 s at most.
    const logs = gw.logs();
    const warnings = logs.filter((l) => l.msg === 'Redis connection error; reconnecting').length;
    expect({ alive: gw.alive, stderr: gw.stderr, warnings: warnings >= 1 && warnings <= 3 ? '1 to 3' : warnings }).toEqual({ alive: true, stderr: '', warnings: '1 to 3' });
    expect(logs.filter((l) => l.msg === 'Redis connection ready again')).toHaveLength(1);
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toMatch(/^authgw_redis_command_errors_total\{kind="connection"\} [1-9]/m);
    expect(metrics).toMatch(/^authgw_sign_ins_total\{provider="google",outcome="unavailable",reason="store_unavailable"\} [1-9]/m);
    expect(metrics).toMatch(/^authgw_redis_up 1$/m);
  });

  it('stops cleanly on SIGTERM afterwards (exit code 0)', async () => {
    expect(await gw.stop()).toEqual({ code: 0, signal: null });
  });
});
