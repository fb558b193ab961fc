/** Small GraphQL-over-HTTP helpers for the set-up steps (the measured load goes through autocannon). */

export const ME_BODY = JSON.stringify({ query: '{ me { id email name } }' });

/** A realistic mobile client's User-Agent: sessions store it, so it counts in Redis bytes. */
export const USER_AGENT = 'BenchApp/2.14.1 (com.example.benchapp; build:2141; iOS 17.5.1) Alamofire/5.9.1';

const GATEWAY_SIGN_IN = 'mutation($t: String!) { signInWithGoogle(idToken: $t) { accessToken refreshToken user { id email name } } }';
const REFERENCE_SIGN_IN = 'mutation($t: String!) { signInWithGoogle(idToken: $t) { sessionToken user { id email name } } }';

/** The sign-in mutation body for a target: each returns its credential(s) and the same user fields. */
export function signInBody(target: 'gateway' | 'reference', idToken: string): string {
  return JSON.stringify({ query: target === 'gateway' ? GATEWAY_SIGN_IN : REFERENCE_SIGN_IN, variables: { t: idToken } });
}

/** A `me` answer with a user and no error. */
export function isMeAnswer(body: string): boolean {
  return body.startsWith('{"data":{"me":{"id":"') && !body.includes('"errors"');
}

/** A sign-in answer with a user and no error. */
export function isSignInAnswer(body: string): boolean {
  return body.startsWith('{"data":{"signInWithGoogle":{') && body.includes('"user":{"id":"') && !body.includes('"errors"');
}

export interface SignInResult {
  /** Gateway: the access token; reference: the session id. */
  credential: string;
  userId: string;
}

/** One sign-in over HTTP; throws unless it succeeded. */
export async function signIn(target: 'gateway' | 'reference', url: string, idToken: string): Promise<SignInResult> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': USER_AGENT },
    body: signInBody(target, idToken),
  });
  const text = await res.text();
  if (res.status !== 200 || !isSignInAnswer(text)) throw new Error(`${target} sign-in failed (${res.status}): ${text.slice(0, 300)}`);
  const data = (JSON.parse(text) as { data: { signInWithGoogle: { accessToken?: string; sessionToken?: string; user: { id: string } } } }).data
    .signInWithGoogle;
  return { credential: data.accessToken ?? data.sessionToken!, userId: data.user.id };
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
