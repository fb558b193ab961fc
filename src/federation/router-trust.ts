import type { IncomingHttpHeaders } from 'node:http';
import { secretMatcher } from '../util/shared-secret.js';

/**
 * Recognises requests from the supergraph's router. The router adds a shared secret to every
 * request it sends us (Apollo's recommended header name; see examples/supergraph/router.yaml);
 * a trusted router may read every user's private fields through `_entities` and receives
 * Apollo inline traces (ftv1). Without ROUTER_SHARED_SECRET no request is trusted.
 */
export const ROUTER_SECRET_HEADER = 'router-authorization';

export type RouterTrust = (headers: IncomingHttpHeaders) => boolean;

export function routerTrust(secret: string | null): RouterTrust {
  // Constant time, whatever length the client sent (src/util/shared-secret.ts).
  const matches = secretMatcher(secret ? [secret] : []);
  return (headers) => {
    const presented = headers[ROUTER_SECRET_HEADER];
    return typeof presented === 'string' && matches(presented);
  };
}
