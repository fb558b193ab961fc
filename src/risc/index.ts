import type { Config } from '../config/index.js';
import { clockWithNow, KeySetCache, type KeySetEvent, type KeySetLogger } from '../identity/keys/index.js';
import type { Stores } from '../store/types.js';
import { RiscReceiver } from './receiver.js';
import { SetVerifier } from './set-verifier.js';

/**
 * Google Cross-Account Protection (RISC):
 *
 *   policy.ts         the stateful rules (identity state, once per event), pure; Lua mirrors them
 *   events.ts         what each event type does (the table), pure
 *   set-verifier.ts   Security Event Token verification (RFC 8417), RFC 8935 error codes
 *   receiver.ts       verify, claim, act, settle
 *   management.ts     the stream management API client; risc-cli.ts is `npm run risc`
 *
 * The HTTP route is src/http/google-risc.ts.
 */

/** The key cache's name for Google's RISC keys: the shared record `jwks:google-risc`, its locks, the metrics' `provider` label. */
export const RISC_KEYS_PROVIDER = 'google-risc';

export interface RiscDeps {
  stores: Pick<Stores, 'keySets' | 'locks' | 'identities' | 'securityEvents'>;
  log: KeySetLogger & { warn(obj: object, msg: string): void };
  now?: () => number;
  fetch?: typeof fetch;
  count: (type: string, outcome: string) => void;
  onKeySourceEvent?: (provider: string, event: KeySetEvent) => void;
}

/**
 * The receiver and its key cache, or null when it is off (GOOGLE_RISC_RECEIVER=false, or
 * Google sign-in off: without client ids there is no audience to accept).
 */
export function createRiscReceiver(config: Config, deps: RiscDeps): { receiver: RiscReceiver; keys: KeySetCache } | null {
  if (!config.risc.enabled || config.google.clientIds.length === 0) return null;
  const now = deps.now ?? Date.now;
  // The discovery document and the keys it names, in one record of the shared key cache: one
  // fetch per cluster, stale-while-failing, an unknown kid refetching once per cooldown.
  const keys = new KeySetCache({
    provider: RISC_KEYS_PROVIDER,
    displayName: 'Google RISC',
    discoveryUri: config.risc.configUri,
    store: deps.stores.keySets,
    locks: deps.stores.locks,
    logger: deps.log,
    clock: deps.now ? clockWithNow(deps.now) : undefined,
    fetch: deps.fetch,
    onEvent: deps.onKeySourceEvent && ((event) => deps.onKeySourceEvent!(RISC_KEYS_PROVIDER, event)),
  });
  // Not warmed at start-up (unlike the sign-in keys): deliveries are rare, and the first one
  // fetches the document and keys (waiting at most 2 s); if Google cannot be reached then, it is
  // answered 503 and Google retries.
  const verifier = new SetVerifier({ keys, audiences: config.google.clientIds, now });
  return { receiver: new RiscReceiver({ verifier, stores: deps.stores, count: deps.count, log: deps.log, now }), keys };
}
