/**
 * Identity providers' signing keys, provider-neutral (Google today; Apple and Google's RISC
 * keys use the same parts):
 *
 *   resolver.ts       ProviderKeys: static (dev) keys, then the provider's cached key set
 *   key-set-cache.ts  KeySetCache: single-flight, stale-while-revalidate, back-off, cooldown,
 *                     one fetch per cluster
 *   shared-store.ts   the provider's record and locks in the shared store, bounded, degrading
 *   fetch-jwks.ts     one HTTP GET: timeout, no redirects, size cap, status 200
 *   jwks.ts           pure parsing: JWKS → RS256 keys, Cache-Control → freshness, cache records
 *   key-set.ts        importing keys (≥ 2048-bit RSA), the in-process set
 *   options.ts        tunables with their defaults, counters, logger
 *   clock.ts          time and timeouts, injectable
 */
export { ProviderKeys, type KeyResolver, type ProviderKeysOptions } from './resolver.js';
export { KeySetCache } from './key-set-cache.js';
export { KEY_SET_DEFAULTS, STALE_GRACE_MS, type KeySetCacheOptions, type KeySetEvent, type KeySetLogger, type KeySetStats, type KeySetTunables } from './options.js';
export { systemClock, clockWithNow, type Clock } from './clock.js';
export { freshnessOf, rsaKeysOf, parseCachedKeySet, type RsaPublicJwk, type FreshnessBounds } from './jwks.js';
export { fetchJwks, type FetchJwksOptions, type JwksResponse } from './fetch-jwks.js';
