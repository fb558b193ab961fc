import { timeoutSignal, type Clock } from './clock.js';
import { readCappedBody } from '../../util/read-capped-body.js';

/**
 * One HTTP GET of a provider's JWKS endpoint, with the limits a key set needs: a timeout over
 * headers and body, redirects refused, a size cap, status 200 only. Parsing is not done here
 * (src/identity/keys/jwks.ts); this answers the parsed JSON body and the response headers, or
 * throws an `Error` whose message is safe to log (no body content).
 *
 * `fetch` is the only dependency, with the global `fetch`'s signature, so the same functions
 * that fit jose's `customFetch` (proxies, retries, mocks) fit here.
 */
export interface FetchJwksOptions {
  fetch: typeof globalThis.fetch;
  clock: Clock;
  /** Abort the request (headers and body) after this long. */
  timeoutMs: number;
  /** Refuse bodies larger than this. */
  maxBodyBytes: number;
  /** Aborts the request early (shutdown). */
  signal?: AbortSignal;
}

export interface JwksResponse {
  /** The body parsed as JSON, not yet validated. */
  body: unknown;
  headers: Headers;
}

export async function fetchJwks(url: string, o: FetchJwksOptions): Promise<JwksResponse> {
  const timeout = timeoutSignal(o.clock, o.timeoutMs);
  try {
    const res = await o.fetch(url, {
      method: 'GET',
      // A key set that moved is a configuration change to make on purpose, never one to follow:
      // a redirect target is not the origin the operator chose to trust.
      redirect: 'error',
      signal: o.signal ? AbortSignal.any([timeout.signal, o.signal]) : timeout.signal,
      headers: { accept: 'application/json, application/jwk-set+json' },
    });
    if (res.status !== 200) {
      await res.body?.cancel().catch(() => undefined);
      throw new Error(`unexpected HTTP status ${res.status}`);
    }
    const text = await readCappedBody(res, o.maxBodyBytes);
    try {
      return { body: JSON.parse(text) as unknown, headers: res.headers };
    } catch {
      throw new Error('the response is not JSON');
    }
  } finally {
    timeout.cancel();
  }
}
