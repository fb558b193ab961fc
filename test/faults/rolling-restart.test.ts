import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { uniquePrefix, usePrivateRedis } from '../support/env.js';
import { FakeGoogle } from '../support/fake-google.js';
import { ME, REFRESH, SIGN_IN, bearer, postGraphql, type AuthPayloadShape } from '../support/gateway.js';
import { GatewayProcess } from '../support/gateway-process.js';
import { waitFor } from '../support/wait-for.js';
import { RoundTripProxy } from '../store/round-trip-proxy.js';

/**
 * A rolling restart of one of two real gateway processes under steady load.
 *
 * What "accepted" means: an instance has accepted a request once Fastify has routed it, which
 * is when it logs `request received` (debug level) with the request's id. A request the
 * instance never accepted failed at the connection (refused once the listener is closed, or
 * reset while the connection was being retired) or got Fastify's own 503 with
 * `Connection: close` (it arrived on a kept-alive connection after closing began): in every
 * such case nothing was executed, and a load balancer may retry it on another instance.
 *
 * The claim tested: every accepted request gets its full, correct response; every request
 * that failed was not accepted; so a load balancer that retries those loses nothing.
 *
 * The load balancer here is a small one in the test: round robin over the instances whose
 * /readyz answers 200 (polled every 200 ms), retrying a request that was not accepted on the
 * next instance. Redis replies are delayed 50 ms (a relay), so requests take long enough that
 * some are in flight at the moment SIGTERM arrives.
 *
 * Twice: with SHUTDOWN_DELAY 0 (the default: the listener closes at once, the balancer learns
 * it from refused connections, requests in flight drain) and 1s (readiness turns 503 first,
 * the balancer stops sending, then the listener closes).
 */

type Failure = 'connection' | 'closing_503' | 'other';
interface Attempt {
  reqId: string;
  instance: number;
  startedAt: number;
  endedAt: number;
  ok: boolean;
  failure?: Failure;
  detail?: string;
}

class TestBalancer {
  readonly attempts: Attempt[] = [];
  readonly readyLog: { instance: number; at: number; status: number }[] = [];
  /** Completed readiness rounds (every backend polled); the next round starts 200 ms later. */
  pollRounds = 0;
  private readonly ready: boolean[];
  private next = 0;
  private polling = true;
  private readonly poller: Promise<void>;

  constructor(readonly backends: (GatewayProcess | null)[]) {
    this.ready = backends.map(() => true);
    this.poller = this.poll();
  }

  private async poll(): Promise<void> {
    while (this.polling) {
      await Promise.all(
        this.backends.map(async (b, i) => {
          let status = 0;
          try {
            status = b ? (await fetch(`${b.url}/readyz`, { signal: AbortSignal.timeout(500) })).status : 0;
          } catch {
            status = 0;
          }
          this.ready[i] = status === 200;
          this.readyLog.push({ instance: i, at: Date.now(), status });
        }),
      );
      this.pollRounds++;
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async stop(): Promise<void> {
    this.polling = false;
    await this.poller;
  }

  /** Sends one logical request; retries on another instance when it was not accepted. */
  async send(id: string, query: string, variables: Record<string, unknown> | undefined, headers: Record<string, string> = {}) {
    for (let attempt = 0; attempt < 6; attempt++) {
      const candidates = this.backends.map((b, i) => i).filter((i) => this.backends[i] && this.ready[i]);
      const instance = candidates.length > 0 ? candidates[this.next++ % candidates.length]! : this.next++ % this.backends.length;
      const backend = this.backends[instance];
      if (!backend) continue;
      const reqId = `${id}-a${attempt}`;
      const startedAt = Date.now();
      try {
        const res = await fetch(`${backend.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-request-id': reqId, ...headers },
          body: JSON.stringify({ query, variables }),
        });
        const raw = await res.text();
        if (res.status === 503 && raw.includes('"error":"Service Unavailable"')) {
          this.attempts.push({ reqId, instance, startedAt, endedAt: Date.now(), ok: false, failure: 'closing_503' });
          continue;
        }
        const body = JSON.parse(raw) as { data?: Record<string, unknown>; errors?: unknown[] };
        const ok = res.status === 200 && !body.errors;
        this.attempts.push({ reqId, instance, startedAt, endedAt: Date.now(), ok, ...(ok ? {} : { failure: 'other' as const, detail: raw.slice(0, 300) }) });
        return { ok, body };
      } catch (err) {
        const cause = (err as { cause?: { code?: string; message?: string } }).cause;
        this.attempts.push({ reqId, instance, startedAt, endedAt: Date.now(), ok: false, failure: 'connection', detail: cause?.code ?? cause?.message ?? String(err) });
        // Passive health check, as real load balancers do: a refused connection (the listener
        // is gone) takes the backend out until the readiness poller sees it ready again.
        // Without it, a client could pick the stopped instance for all its attempts before the
        // next poll. A reset (a kept-alive connection being retired) does not count.
        if (cause?.code === 'ECONNREFUSED') this.ready[instance] = false;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    return { ok: false, body: {} };
  }
}

describe('rolling restart of one of two instances under steady load', () => {
  let google: FakeGoogle;
  let proxy: RoundTripProxy;
  const gateways: GatewayProcess[] = [];
  afterAll(async () => {
    for (const g of gateways) await g.kill();
    await proxy?.stop();
    await google?.close();
  });
  const redis = usePrivateRedis();

  let base: Record<string, string>;
  beforeAll(async () => {
    google = await FakeGoogle.start();
    proxy = new RoundTripProxy(redis.server.port, 50);
    await proxy.start();
    base = {
      REDIS_URL: proxy.url,
      REDIS_KEY_PREFIX: uniquePrefix(),
      GOOGLE_CLIENT_IDS: google.clientId,
      GOOGLE_JWKS_URI: google.jwksUri,
      GOOGLE_RISC_CONFIG_URI: google.riscConfigUri,
      LOG_LEVEL: 'debug',
      SHUTDOWN_TIMEOUT: '10s',
    };
  });

  it.each([['0s'], ['1s']])('SHUTDOWN_DELAY=%s: every accepted request completes; every failed attempt was never accepted and succeeds on retry', async (delay) => {
    const env = { ...base, SHUTDOWN_DELAY: delay };
    const delayMs = delay === '1s' ? 1_000 : 0;
    const [a, b] = await Promise.all([GatewayProcess.start(env), GatewayProcess.start(env)]);
    gateways.push(a!, b!);
    const lb = new TestBalancer([a!, b!]);

    // Eight clients, each with its own session: `me` mostly, a refresh every fourth request.
    let running = true;
    const lostRequests: string[] = [];
    /** Per client: when its last request (sign-in included) was answered, and how many were. */
    const answeredAt = Array.from({ length: 8 }, () => 0);
    const answered = Array.from({ length: 8 }, () => 0);
    const client = async (n: number) => {
      const signIn = await lb.send(`c${n}-signin`, SIGN_IN, { idToken: await google.mint({ sub: `6000${Date.now()}${n}` }) });
      expect(signIn.ok).toBe(true);
      let session = (signIn.body.data as { signInWithGoogle: AuthPayloadShape }).signInWithGoogle;
      for (let i = 0; running; i++) {
        answeredAt[n] = Date.now();
        answered[n]!++;
        const refresh = i % 4 === 3;
        const id = `c${n}-${refresh ? 'r' : 'm'}${i}`;
        if (refresh) {
          const r = await lb.send(id, REFRESH, { refreshToken: session.refreshToken });
          if (r.ok) session = { ...(r.body.data as { refreshSession: AuthPayloadShape }).refreshSession, user: session.user };
          else lostRequests.push(id);
        } else {
          const r = await lb.send(id, ME, undefined, bearer(session.accessToken));
          if (r.ok) expect((r.body.data as { me: { id: string } }).me.id).toBe(session.user.id);
          else lostRequests.push(id);
        }
      }
    };
    const load = Promise.all(Array.from({ length: 8 }, (_, n) => client(n)));
    // Steady load first: every client signed in and answered a few times, and more than 20
    // requests accepted by A (a busy machine takes longer to get there).
    const receivedCount = (g: GatewayProcess) => g.logs().filter((l) => l.msg === 'request received' && l.path === '/graphql').length;
    await waitFor('steady load on both instances', () => answered.every((c) => c >= 3) && receivedCount(a!) > 20 && receivedCount(b!) > 20, { timeoutMs: 20_000 });

    // A session for a request sent straight to A during SHUTDOWN_DELAY (below).
    const probeIdToken = await google.mint({ sub: `6100${Date.now()}` });
    const probe = (await postGraphql<{ signInWithGoogle: AuthPayloadShape }>(`${a!.url}/graphql`, SIGN_IN, { idToken: probeIdToken }, { 'x-request-id': 'probe-signin' })).body.data!
      .signInWithGoogle;
    // Signal right after a readiness round has completed (every backend polled, not just the
    // first to answer), so the balancer's view of A is fresh and its next poll of A is ~200 ms
    // away: what follows then depends on the gateway, not on poll phase.
    const rounds = lb.pollRounds;
    while (lb.pollRounds === rounds) await new Promise((r) => setTimeout(r, 5));
    // The rolling restart: SIGTERM to A; once it has exited, a new A on the same port.
    const sigtermAt = Date.now();
    a!.signal('SIGTERM');
    let duringDelay: { readyz: number; status: number; me: unknown } | null = null;
    if (delayMs > 0) {
      // Once A says 503 on /readyz (shutdown begun), a request that still reaches it is served
      // in full: the balancer may not have polled yet. Sent directly, so it does not depend on
      // how the balancer's traffic happens to fall in that window.
      let readyz = 0;
      for (const deadline = Date.now() + 500; readyz !== 503 && Date.now() < deadline; ) {
        readyz = (await fetch(`${a!.url}/readyz`)).status;
      }
      const r = await postGraphql<{ me: { id: string } }>(`${a!.url}/graphql`, ME, undefined, { ...bearer(probe.accessToken), 'x-request-id': 'probe-me' });
      duringDelay = { readyz, status: r.status, me: r.body.data?.me?.id };
    }
    const exit = await a!.exited;
    const exitedAt = Date.now();
    const a2 = await GatewayProcess.start({ ...env, PORT: String(a!.port) });
    gateways.push(a2);
    lb.backends[0] = a2;
    const a2UpAt = Date.now();
    // The restart is over once the balancer sends the new A traffic and every client has been
    // answered since (none is left retrying against the stopped instance).
    await waitFor('the balancer to use the new instance, and every client to be answered since', () => receivedCount(a2) >= 10 && answeredAt.every((t) => t > a2UpAt), {
      timeoutMs: 20_000,
    });
    running = false;
    await load;
    await lb.stop();

    expect(exit).toEqual({ code: 0, signal: null });
    expect(exitedAt - sigtermAt).toBeLessThan(delayMs + 5_000);
    // On failure, every attempt of each lost request (instance, timing relative to SIGTERM, why).
    const lostDetail = lostRequests.map((id) =>
      lb.attempts.filter((t) => t.reqId.startsWith(`${id}-`)).map((t) => ({ ...t, startedAt: t.startedAt - sigtermAt, endedAt: t.endedAt - sigtermAt })),
    );
    expect({ lost: lostRequests.length, lostDetail }).toEqual({ lost: 0, lostDetail: [] });

    // Accepted by the old A = logged as received by it. Each of those was answered in full.
    const logsA = a!.logs();
    const received = new Set(logsA.filter((l) => l.msg === 'request received' && l.path === '/graphql').map((l) => String(l.reqId)));
    const completed = new Map(logsA.filter((l) => l.msg === 'request completed' && l.path === '/graphql').map((l) => [String(l.reqId), l.statusCode]));
    const byId = new Map(lb.attempts.map((t) => [t.reqId, t]));
    expect(received.size).toBeGreaterThan(20);
    for (const reqId of received) {
      expect([reqId, completed.get(reqId)]).toEqual([reqId, 200]);
      // The probes went straight to A, not through the balancer; checked on their own.
      if (!reqId.startsWith('probe-')) expect([reqId, byId.get(reqId)?.ok]).toEqual([reqId, true]);
    }
    // Some of them were in flight when SIGTERM arrived, and completed.
    const inFlight = lb.attempts.filter((t) => t.instance === 0 && received.has(t.reqId) && t.startedAt < sigtermAt && t.endedAt > sigtermAt);
    expect(inFlight.length).toBeGreaterThan(0);
    if (delayMs > 0) {
      // ... a request that arrived during SHUTDOWN_DELAY, readiness already 503, was served.
      expect(duringDelay).toEqual({ readyz: 503, status: 200, me: probe.user.id });
      expect(lb.readyLog.some((r) => r.instance === 0 && r.at > sigtermAt && r.at < exitedAt && r.status === 503)).toBe(true);
    }

    const failuresByKind: Record<string, number> = {};
    for (const t of lb.attempts) if (!t.ok) failuresByKind[t.failure!] = (failuresByKind[t.failure!] ?? 0) + 1;
    process.stdout.write(
      `rolling restart, SHUTDOWN_DELAY=${delay}: ${lb.attempts.length} attempts; the stopped instance accepted ${received.size} (${inFlight.length} in flight at SIGTERM), all answered; failed attempts (not accepted, retried): ${JSON.stringify(failuresByKind)}; exit ${exitedAt - sigtermAt} ms after SIGTERM\n`,
    );

    // Every failed attempt was refused before being accepted, by the connection or by Fastify's
    // closing 503, never an error response, and its retry succeeded.
    const failed = lb.attempts.filter((t) => !t.ok);
    for (const t of failed) {
      expect([t.reqId, t.failure]).toEqual([t.reqId, expect.stringMatching(/^(connection|closing_503)$/)]);
      expect([t.reqId, received.has(t.reqId)]).toEqual([t.reqId, false]);
    }
    for (const g of [a2, b!]) {
      const seen = new Set(g.logs().filter((l) => l.msg === 'request received').map((l) => String(l.reqId)));
      for (const t of failed) expect([t.reqId, seen.has(t.reqId)]).toEqual([t.reqId, false]);
    }
    // The shutdown, as logged: readiness first, then the drain, nothing cut.
    const msgs = logsA.map((l) => l.msg);
    expect(msgs).toEqual(expect.arrayContaining(['shutting down', 'shutdown started: readiness is 503', 'shutdown complete']));
    expect(logsA.find((l) => l.msg === 'shutdown complete')?.forced).toBe(false);
    expect(a!.stderr).toBe('');
  }, 60_000);

  it('a second signal during the shutdown exits at once, with code 1', async () => {
    const gw = await GatewayProcess.start({ ...base, SHUTDOWN_DELAY: '10s' });
    gateways.push(gw);
    gw.signal('SIGTERM');
    await waitFor('/readyz to answer 503', async () => (await fetch(`${gw.url}/readyz`)).status === 503);
    expect(gw.alive).toBe(true); // draining through SHUTDOWN_DELAY
    const t0 = Date.now();
    gw.signal('SIGINT');
    expect(await gw.exited).toEqual({ code: 1, signal: null });
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect(gw.logs().some((l) => l.msg === 'second stop signal: exiting now')).toBe(true);
  });
});
