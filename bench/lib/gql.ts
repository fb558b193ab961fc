/**
 * The GraphQL requests of the benchmark, written once: the wrk scripts (bench/wrk/) get their
 * bodies and expected answer prefixes from here, and the set-up steps (sign-ins that prepare
 * sessions, the memory and cold-start figures) send them over fetch.
 */

export type AuthTarget = 'gateway' | 'reference';

export const ME_BODY = JSON.stringify({ query: '{ me { id email name } }' });
/** How a `me` answer with a user starts (and it must carry no `"errors"`). */
export const ME_ANSWER = '{"data":{"me":{"id":"';

/** A realistic mobile client's User-Agent: sessions store it, so it counts in Redis bytes. */
export const USER_AGENT = 'BenchApp/2.14.1 (com.example.benchapp; build:2141; iOS 17.5.1) Alamofire/5.9.1';

/** Where a wrk script puts each request's token in a body template. */
export const TOKEN_SLOT = '@TOKEN@';

const SIGN_IN: Record<AuthTarget, string> = {
  gateway: 'mutation($t: String!) { signInWithGoogle(idToken: $t) { accessToken refreshToken user { id email name } } }',
  reference: 'mutation($t: String!) { signInWithGoogle(idToken: $t) { sessionToken refreshToken user { id email name } } }',
};
/** What a mobile client asks for when it refreshes: the new pair. */
const REFRESH: Record<AuthTarget, string> = {
  gateway: 'mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken refreshToken } }',
  reference: 'mutation($t: String!) { refreshSession(refreshToken: $t) { sessionToken refreshToken } }',
};
export const SIGN_IN_ANSWER = '{"data":{"signInWithGoogle":{';
export const REFRESH_ANSWER = '{"data":{"refreshSession":{';

/** The sign-in mutation body for a target: each returns its credentials and the same user fields. */
export function signInBody(target: AuthTarget, idToken: string): string {
  return JSON.stringify({ query: SIGN_IN[target], variables: { t: idToken } });
}

/** Body templates for the wrk scripts (`@TOKEN@` is replaced by each request's token). */
export const signInTemplate = (target: AuthTarget) => signInBody(target, TOKEN_SLOT);
export const refreshTemplate = (target: AuthTarget) => JSON.stringify({ query: REFRESH[target], variables: { t: TOKEN_SLOT } });

/** A sign-in answer with a user and no error. */
export function isSignInAnswer(body: string): boolean {
  return body.startsWith(SIGN_IN_ANSWER) && body.includes('"user":{"id":"') && !body.includes('"errors"');
}

export interface SignInResult {
  /** Gateway: the access token; reference: the session id. */
  credential: string;
  refreshToken: string;
  userId: string;
}

/** One sign-in over HTTP; throws unless it succeeded. */
export async function signIn(target: AuthTarget, url: string, idToken: string): Promise<SignInResult> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': USER_AGENT },
    body: signInBody(target, idToken),
  });
  const text = await res.text();
  if (res.status !== 200 || !isSignInAnswer(text)) throw new Error(`${target} sign-in failed (${res.status}): ${text.slice(0, 300)}`);
  const data = (
    JSON.parse(text) as { data: { signInWithGoogle: { accessToken?: string; sessionToken?: string; refreshToken: string; user: { id: string } } } }
  ).data.signInWithGoogle;
  return { credential: data.accessToken ?? data.sessionToken!, refreshToken: data.refreshToken, userId: data.user.id };
}

/** Runs `fn` over `items`, `inflight` at a time, keeping order. */
export async function mapConcurrent<T, R>(items: readonly T[], inflight: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(inflight, items.length) }, worker));
  return out;
}
