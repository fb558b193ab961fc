import { generateKeyPairSync } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { createRemoteJwksSigningKeyProvider, defineConfig, extractFromHeader } from '@graphql-hive/gateway';
import { GraphQLError } from 'graphql';
import { sessionCheck, type Verdict } from '../session-check.ts';

/**
 * Hive Gateway in front of the auth gateway and the orders subgraph (`npm run router`, see
 * ../README.md). What it does with a client's `Authorization: Bearer <access token>`:
 *
 *   1. verifies the token with the auth gateway's published keys (ES256, `iss`, `aud`, `exp`);
 *      a token that fails is not refused here — mobile apps still attach a stale token to
 *      `signInWithGoogle` and `refreshSession`, which the auth gateway must answer;
 *   2. forwards the header as the client sent it to the auth subgraph (which checks the token
 *      and its session itself), with the router secret (`router-authorization`) and the
 *      client's address (`x-forwarded-for`): to that subgraph only;
 *   3. forwards it to every other subgraph only when the token verified *and* the auth
 *      gateway says its session is live (introspection, once per request: ../session-check.ts).
 *      Otherwise they see an anonymous request; if the gateway cannot tell, they are not
 *      called and their fields fail with SERVICE_UNAVAILABLE.
 *
 * Environment: ROUTER_SHARED_SECRET (required; the auth gateway's value, also listed in its
 * INTROSPECTION_SECRETS unless INTROSPECTION_SECRET names another of them), AUTH_GATEWAY_URL
 * (http://localhost:4000), AUTH_ISSUER (AUTH_GATEWAY_URL), AUTH_AUDIENCE
 * (graphql-auth-gateway), AUTH_SUBGRAPH (auth: its name in the supergraph).
 */
const env = (name: string, fallback?: string): string => {
  const value = process.env[name] || fallback;
  if (!value) throw new Error(`${name} must be set (see examples/supergraph/README.md)`);
  return value;
};
const authGateway = env('AUTH_GATEWAY_URL', 'http://localhost:4000').replace(/\/$/, '');
const routerSecret = env('ROUTER_SHARED_SECRET');
const authSubgraph = env('AUTH_SUBGRAPH', 'auth');
const introspect = sessionCheck({ url: `${authGateway}/oauth/introspect`, secret: env('INTROSPECTION_SECRET', routerSecret) });

interface RouterContext {
  /** Set by the JWT plugin when the token verified. */
  jwt?: { payload: Record<string, unknown>; token: { value: string; prefix?: string } };
  /** Node's request, for the client's address. */
  req?: IncomingMessage;
}

/** One introspection per client request, shared by all its subgraph fetches. */
const verdicts = new WeakMap<object, Promise<Verdict>>();

/**
 * The JWT plugin answers 500 when no published key has the token's `kid` (or the key set
 * cannot be fetched). A token naming a key the gateway never published is a bad token, not an
 * outage: it gets a key that verifies nothing (its private half is thrown away), so the token
 * is merely invalid. Fetching the key set is rate-limited, so unknown kids cannot make the
 * router hammer the gateway.
 */
const remoteKeys = createRemoteJwksSigningKeyProvider({
  jwksUri: `${authGateway}/.well-known/jwks.json`,
  cache: true,
  rateLimit: true,
  jwksRequestsPerMinute: 10,
});
const verifiesNothing = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
async function signingKey(kid?: string): Promise<string> {
  try {
    return await remoteKeys(kid);
  } catch (err) {
    const name = (err as Error).name;
    if (name === 'SigningKeyNotFoundError' || name === 'JwksRateLimitError') return verifiesNothing;
    throw err;
  }
}

export const gatewayConfig = defineConfig<RouterContext>({
  jwt: {
    signingKeyProviders: [signingKey],
    tokenLookupLocations: [extractFromHeader({ name: 'authorization', prefix: 'Bearer' })],
    tokenVerification: {
      // The plugin's default is RS256/HS256 only; the gateway signs ES256 and nothing else.
      algorithms: ['ES256'],
      issuer: env('AUTH_ISSUER', authGateway),
      audience: env('AUTH_AUDIENCE', 'graphql-auth-gateway'),
    },
    // Step 1: a missing or bad token continues without claims (see above).
    reject: { missingToken: false, invalidToken: false },
    // Subgraphs verify the token themselves; the claims are not sent along in `extensions`.
    forward: { payload: false },
  },
  propagateHeaders: {
    async fromClientToSubgraphs({ request, context, subgraphName }) {
      const authorization = request.headers.get('authorization') ?? undefined;
      if (subgraphName === authSubgraph) {
        // The client's address as the auth gateway's rate limits should count it; trust this
        // router there with TRUST_PROXY (its address, or a hop count of 1).
        const peer = context.req?.socket.remoteAddress;
        const forwarded = [request.headers.get('x-forwarded-for'), peer].filter(Boolean).join(', ');
        return { authorization, 'router-authorization': routerSecret, 'x-forwarded-for': forwarded || undefined };
      }
      const token = context.jwt?.token.value;
      if (!token) return {};
      let verdict = verdicts.get(context);
      if (!verdict) verdicts.set(context, (verdict = introspect(token)));
      switch (await verdict) {
        case 'active':
          return { authorization: `Bearer ${token}` };
        case 'inactive':
          return {};
        case 'unavailable':
          throw new GraphQLError('The session could not be checked; try again shortly.', { extensions: { code: 'SERVICE_UNAVAILABLE' } });
      }
    },
  },
});
