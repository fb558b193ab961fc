import { Kind, type DocumentNode, type FragmentDefinitionNode, type OperationDefinitionNode } from 'graphql';
import { AUTH_FIELDS } from './one-auth-field.js';
import { rootFields } from './root-fields.js';

/*
 * When a request that carries a bearer token has its caller looked up.
 *
 * The caller (`GatewayContext.principal()`) is memoised per request, and resolvers ask for it
 * when they need it. Asked for deep inside execution, the lookup waits for its Redis round trip
 * with the whole execution in memory: Apollo's request context, graphql-js' execution state,
 * the resolver chain, for every request of the turn (their reads share one pipeline). Objects
 * that live across that wait survive the young-generation collection and are copied, some
 * promoted: that garbage-collection work was the largest cost an authenticated request added
 * (docs/benchmarks.md, round 1). So the lookup starts, and is waited for, before execution:
 *
 * - a POST whose query text names none of the operations below cannot contain one, so its
 *   caller is looked up before Apollo starts on it at all (`mayAskForCallerBySource`, from the
 *   context function in src/graphql/plugin.ts);
 * - any other request is decided on its parsed operation, once Apollo has resolved it and
 *   before it executes (`mayAskForCaller`, from the plugin's `didResolveOperation`). A query
 *   that merely mentions such a name (in a comment, say) only takes this later path.
 *
 * Safe because it changes when the lookup runs, never what anyone sees: the outcome is the
 * memo the resolvers get, a failure rejects only those that ask (the wait itself never throws),
 * and the read still happens during this request, so a session ended before it is refused
 * exactly as before. Operations that need no caller are left to ask lazily, which they never
 * do: a stale token attached to a sign-in or a refresh costs no verification and no round trip.
 */

/**
 * Root fields that run without a caller, and never ask for one. (`linkIdentity` verifies an ID
 * token like a sign-in, but for the signed-in caller: it is not here.) A new anonymous field
 * left out costs a wasted lookup when a token is attached, never a wrong answer.
 */
const CALLERLESS_OPERATIONS: readonly string[] = [...[...AUTH_FIELDS].filter((f) => f !== 'linkIdentity'), 'createSignInNonce', '_service'];
/**
 * With the meta-fields, for the parsed check. The text check leaves them out on purpose: clients
 * add `__typename` to every selection, and `{ __typename }` alone with a token attached is not
 * a real request (if one comes, its lookup is wasted, not wrong).
 */
const CALLERLESS_FIELDS: ReadonlySet<string> = new Set([...CALLERLESS_OPERATIONS, '__typename', '__schema', '__type']);

/**
 * The decision per parsed operation: Apollo keeps parsed documents in its document cache, so the
 * same operation object comes back for every request with the same query. Weak: a document
 * evicted from that cache takes its entry with it.
 */
const decisions = new WeakMap<OperationDefinitionNode, boolean>();

/** True when a request body's query text names none of the callerless operations. */
export function mayAskForCallerBySource(body: unknown): boolean {
  const query = typeof body === 'object' && body !== null ? (body as { query?: unknown }).query : undefined;
  if (typeof query !== 'string') return false;
  for (const name of CALLERLESS_OPERATIONS) if (query.includes(name)) return false;
  return true;
}

/** True when the operation selects, at its root, anything but the callerless fields. */
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
