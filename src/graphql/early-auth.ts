import { Kind, type DocumentNode, type FragmentDefinitionNode, type OperationDefinitionNode } from 'graphql';
import { AUTH_FIELDS } from './one-auth-field.js';
import { rootFields } from './root-fields.js';

/**
 * When a request that carries a bearer token has its caller looked up.
 *
 * The caller (`GatewayContext.principal()`) is memoised per request, and resolvers ask for it
 * when they need it. Asked for deep inside execution, the lookup waits for its Redis round trip
 * with the whole execution in memory: Apollo's request context, graphql-js' execution state,
 * the resolver chain, for every request of the turn (their reads share one pipeline). Objects
 * that live across that wait survive the young-generation collection and are copied, some
 * promoted: that garbage-collection work was the largest cost an authenticated request added
 * (docs/benchmarks.md, round 1). So once Apollo has resolved the operation, and before it
 * executes, the plugin (src/graphql/plugin.ts) starts the lookup and waits for it to settle.
 *
 * Safe because it changes when the lookup runs, never what anyone sees: the outcome is the
 * memo the resolvers get, a failure rejects only those that ask (the wait itself never throws),
 * and the read still happens during this request, so a session ended before it is refused
 * exactly as before. Operations that need no caller (sign-in, refresh, a server nonce, the
 * subgraph's `_service`) are left to ask lazily, which they never do: a stale token attached
 * to them costs no verification and no round trip.
 */
export function mayAskForCaller(document: DocumentNode, operation: OperationDefinitionNode): boolean {
  let known = decisions.get(operation);
  if (known === undefined) {
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const def of document.definitions) if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
    known = rootFields(operation.selectionSet, (name) => fragments.get(name)).some((f) => !CALLERLESS_FIELDS.has(f.name.value));
    decisions.set(operation, known);
  }
  return known;
}

/** Root fields that run without a caller (and never ask for one). */
const CALLERLESS_FIELDS: ReadonlySet<string> = new Set([...AUTH_FIELDS, 'createSignInNonce', '_service', '__typename', '__schema', '__type']);

/**
 * The decision per parsed operation: Apollo keeps parsed documents in its document cache, so the
 * same operation object comes back for every request with the same query. Weak: a document
 * evicted from that cache takes its entry with it.
 */
const decisions = new WeakMap<OperationDefinitionNode, boolean>();
