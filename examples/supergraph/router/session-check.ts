/**
 * The router's half of "sign-out means the same in every subgraph": before a request reaches a
 * subgraph other than the auth gateway, the router asks the gateway whether the request's
 * access token still belongs to a live session, by token introspection (RFC 7662,
 * `POST /oauth/introspect`, authenticated with a secret from the gateway's
 * INTROSPECTION_SECRETS). Once per client request, whatever the number of subgraph fetches;
 * never cached across requests, so a token is refused everywhere from the moment `signOut`
 * (or `revokeSession`, `signOutEverywhere`, `deleteMyAccount`, an operator's `disable`) has
 * answered. The signature is checked first by the JWT plugin (gateway.config.ts): a token that
 * fails it is never introspected.
 *
 * Three outcomes, kept apart on purpose:
 *   active       the token goes on to the subgraph
 *   inactive     it does not: the subgraph sees an anonymous request and refuses whatever
 *                needs a signed-in user
 *   unavailable  the gateway could not tell (its store is down, it is unreachable or slow):
 *                the subgraph is not called at all and its fields fail with
 *                SERVICE_UNAVAILABLE. An outage is never taken for a sign-out, nor the
 *                other way round.
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
