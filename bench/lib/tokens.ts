import { randomBytes } from 'node:crypto';
import type { FakeGoogle } from '../../test/support/fake-google.js';

/**
 * Distinct, valid, Google-shaped ID tokens from the fake issuer. The claims have the sizes of
 * real ones (a 21-digit `sub`, a ~100-character `picture` URL, `jti`), because Redis bytes per
 * user and the cost of parsing a token depend on them. Every token is a new Google account.
 */

let counter = 0;
const RUN = BigInt(Date.now()) * 1000n;

export function profileClaims(): Record<string, unknown> {
  const n = ++counter;
  const sub = (100_000_000_000_000_000_000n + RUN + BigInt(n)).toString().slice(0, 21);
  return {
    sub,
    email: `bench.user.${n}@gmail.com`,
    email_verified: true,
    name: `Bench User ${n}`,
    given_name: 'Bench',
    family_name: `User ${n}`,
    picture: `https://lh3.googleusercontent.com/a/ACg8ocK${randomBytes(45).toString('base64url')}=s96-c`,
    locale: 'en-GB',
    jti: randomBytes(20).toString('hex'),
  };
}

/** `count` distinct tokens, signed `inflight` at a time (jose signs on libuv's thread pool). */
export async function mintTokens(google: FakeGoogle, count: number, inflight = 64): Promise<string[]> {
  const out = new Array<string>(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      out[i] = await google.mint(profileClaims());
    }
  };
  await Promise.all(Array.from({ length: Math.min(inflight, count) }, worker));
  return out;
}

/** `sub` of a token minted here (for checks). */
export function subOf(token: string): string {
  return (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { sub: string }).sub;
}
