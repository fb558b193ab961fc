import type { GraphQLRequestContextWillSendResponse } from '@apollo/server';
import { Kind, type FragmentDefinitionNode } from 'graphql';
import { ErrorCode } from '../errors.js';
import { responseKey, rootFields } from '../graphql/root-fields.js';

/**
 * HTTP 429 (with `Retry-After`) when a rate limit refused the *whole* request, 200 otherwise;
 * applied to every GraphQL answer before it is sent (src/graphql/plugin.ts).
 *
 * Limits are checked inside the sign-in and refresh use cases, which the resolvers of
 * `signInWithGoogle` and `refreshSession` run (only there is the verified account or session
 * known), so a refusal is a field error. The
 * request counts as refused as a whole when every root field of the operation failed with
 * RATE_LIMITED: then nothing ran, and the client may send the same request again after
 * `Retry-After` seconds. Because an operation holds at most one of those two fields
 * (src/graphql/one-auth-field.ts), that is the usual case: a sign-in or refresh that is
 * rate-limited is answered 429. If other root fields ran (`mutation { signOut
 * signInWithGoogle(…) }`) the answer stays 200 with the error at its path, as for any partial
 * result.
 */
export function applyRateLimitStatus({ response, operation, document }: Pick<GraphQLRequestContextWillSendResponse<object>, 'response' | 'operation' | 'document'>): void {
  if (response.body.kind !== 'single' || !operation || !document) return;
  const errors = response.body.singleResult.errors ?? [];
  if (errors.length === 0 || !errors.every((e) => e.extensions?.code === ErrorCode.RATE_LIMITED)) return;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of document.definitions) if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
  const refused = new Set(errors.map((e) => (e.path?.length === 1 ? String(e.path[0]) : null)));
  const keys = rootFields(operation.selectionSet, (name) => fragments.get(name)).map(responseKey);
  if (keys.length === 0 || !keys.every((k) => refused.has(k))) return;
  const retryAfter = Math.max(...errors.map((e) => Number(e.extensions?.retryAfter) || 1));
  response.http.status = 429;
  response.http.headers.set('retry-after', String(retryAfter));
}
