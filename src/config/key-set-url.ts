const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/** A URL on this host (plain http is acceptable there: nobody is on the path). */
export function isLoopbackUrl(url: URL): boolean {
  return LOOPBACK_HOSTS.has(url.hostname) || /^127\.\d+\.\d+\.\d+$/.test(url.hostname);
}

/** How the README states the rule below. */
export const KEY_SET_URL_ACCEPTS = 'an `https:` URL (plain `http:` only on a loopback address)';

/**
 * An identity provider's key-set URL: what is wrong with it, or null. Keys fetched over plain
 * HTTP could be swapped by anyone on the path; loopback is allowed for tests and air-gapped
 * mirrors on the same host.
 */
export function keySetUrlProblem(value: string): string | null {
  const u = URL.canParse(value) ? new URL(value) : null;
  if (!u) return 'expected a URL';
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && isLoopbackUrl(u))) return 'must be an https: URL (http: only on a loopback address)';
  return null;
}
