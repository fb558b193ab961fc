/**
 * pino serializer for the `req` of Fastify's request log lines: method, path and client
 * address. Fastify's default logs the full URL, and a GraphQL GET carries its variables in
 * the query string: a client sending `signInWithGoogle` or `refreshSession` by GET would put
 * its ID token or refresh token in our logs (Apollo refuses the mutation, but only after the
 * request line is logged). So the query string is never logged.
 */
const MAX_PATH_LENGTH = 200;

export function serializeRequestForLog(req: { method?: string; url?: string; ip?: string; socket?: { remoteAddress?: string } }) {
  return {
    method: req.method,
    path: (req.url ?? '').split('?', 1)[0]!.slice(0, MAX_PATH_LENGTH),
    remoteAddress: req.ip ?? req.socket?.remoteAddress,
  };
}
