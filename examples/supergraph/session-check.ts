/**
 * "Is this access token's session still live?", asked of the auth gateway by token
 * introspection (RFC 7662, `POST /oauth/introspect`, authenticated with one of its
 * INTROSPECTION_SECRETS). A signature check alone cannot answer it: a signed-out token keeps
 * a valid signature until it expires. Whoever must honour sign-out at once asks this, on every
 * request, never caching the answer, so a token is refused from the moment `signOut` (or
 * `revokeSession`, `signOutEverywhere`, `deleteMyAccount`, an operator's `disable`) has
 * answered. Used by the Hive Gateway router (router/gateway.config.ts: once per client
 * request, before any subgraph but auth sees the token) and, for routers that cannot call it
 * themselves (Apollo Router without a coprocessor), by the orders subgraph
 * (orders/access-token.ts). Check the signature first: a token that fails it needs no call.
 *
 * Three outcomes, kept apart on purpose:
 *   active       the session is live
 *   inactive     it is not (or the token is not one of the gateway's access tokens)
 *   unavailable  the gateway could not tell (its store is down, it is unreachable or slow, it
 *                refused our secret): the caller fails with SERVICE_UNAVAILABLE. An outage is
 *                never taken for a sign-out, nor the other way round.
 */
export type Verdict = 'active' | 'inactive' | 'unavailable';

export interface SessionCheckOptions {
  /** The auth gateway's introspection endpoint, e.g. http://localhost:4000/oauth/introspect */
  url: string;
  /** One of the gateway's INTROSPECTION_SECRETS. */
  secret: string;
  /** How long to wait for an answer before calling it unavailable. */
  timeoutMs?: number;
}

/** Long enough for the gateway's own 2 s store timeout to answer 503 first. */
const DEFAULT_TIMEOUT_MS = 3_000;

export function sessionCheck(opts: SessionCheckOptions): (token: string) => Promise<Verdict> {
  const headers = { authorization: `Bearer ${opts.secret}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
  return async (token) => {
    let res: Response;
    try {
      res = await fetch(opts.url, {
        method: 'POST',
        headers,
        body: new URLSearchParams({ token }).toString(),
        signal: AbortSignal.timeout(opts.timeoutMs ?? DEFAULT_TIMEOUT_MS),
      });
    } catch {
      return 'unavailable';
    }
    // Anything but a 200 with a boolean `active` (503, a 401 for a wrong secret, a 429) says
    // nothing about the token: unavailable, never inactive.
    if (res.status !== 200) {
      await res.body?.cancel();
      return 'unavailable';
    }
    const answer = (await res.json().catch(() => null)) as { active?: unknown } | null;
    if (typeof answer?.active !== 'boolean') return 'unavailable';
    return answer.active ? 'active' : 'inactive';
  };
}
