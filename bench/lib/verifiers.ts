import { KeyObject, verify as cryptoVerify, webcrypto } from 'node:crypto';
import { OAuth2Client } from 'google-auth-library';
import { loadConfig } from '../../src/config/index.js';
import { createIdTokenVerification } from '../../src/identity/verification.js';
import { createMemoryStores } from '../../src/store/index.js';
import type { FakeGoogle } from '../../test/support/fake-google.js';

/**
 * The ID-token verifiers compared in process, each through its public API, each with
 * Google's keys already cached, all checking RS256 signatures against the same fake-issuer
 * keys:
 * - ours: exactly what the gateway calls (`createIdTokenVerification(...).verify('google', …)`:
 *   jose + WebCrypto, full policy);
 * - google-auth-library: `OAuth2Client.verifyIdToken({ idToken, audience })`, its PEM
 *   certificates fetched from the fake issuer through the client's own `endpoints` option;
 * - node:crypto: a bare signature check with a prepared key and no claim checks at all, for
 *   context (the cost of the RSA operation itself).
 * Each resolves to the token's `sub` and rejects a token that does not verify.
 */
export interface IdTokenVerifier {
  readonly name: string;
  verify(token: string): Promise<string>;
}

const silent = { info: () => undefined, warn: () => undefined };

export async function ourVerifier(google: FakeGoogle): Promise<IdTokenVerifier> {
  const config = loadConfig({
    NODE_ENV: 'production',
    REDIS_URL: 'redis://127.0.0.1:1', // not used: the stores below are in memory
    GOOGLE_CLIENT_IDS: google.clientId,
    GOOGLE_JWKS_URI: google.jwksUri,
    AUTH_ISSUER: 'https://auth.bench.example',
    LOG_LEVEL: 'silent',
  });
  const v = await createIdTokenVerification(config, { stores: createMemoryStores(), log: silent });
  if (!(await v.keySources[0]!.warm())) throw new Error('our verifier could not load the fake issuer keys');
  return { name: 'ours (jose)', verify: async (t) => (await v.verify('google', t, null)).sub };
}

export async function libraryVerifier(google: FakeGoogle): Promise<IdTokenVerifier> {
  const client = new OAuth2Client({ endpoints: { oauth2FederatedSignonPemCertsUrl: google.pemCertsUri } });
  const verify = async (t: string) => {
    const payload = (await client.verifyIdToken({ idToken: t, audience: google.clientId })).getPayload();
    if (!payload) throw new Error('no payload');
    return payload.sub;
  };
  await client.getFederatedSignonCertsAsync(); // load (and cache) the certificates up front
  return { name: 'google-auth-library', verify };
}

export function rawVerifier(google: FakeGoogle): IdTokenVerifier {
  const pk = google.current.publicKey;
  const key = pk instanceof KeyObject ? pk : KeyObject.from(pk as webcrypto.CryptoKey);
  return {
    name: 'node:crypto (signature only)',
    verify: async (t) => {
      const dot = t.lastIndexOf('.');
      if (!cryptoVerify('RSA-SHA256', Buffer.from(t.slice(0, dot)), key, Buffer.from(t.slice(dot + 1), 'base64url'))) {
        throw new Error('bad signature');
      }
      return (JSON.parse(Buffer.from(t.slice(t.indexOf('.') + 1, dot), 'base64url').toString('utf8')) as { sub: string }).sub;
    },
  };
}

/** Verifications per second with `inflight` verifications always pending, for `ms`. */
export async function verificationsPerSecond(v: IdTokenVerifier, tokens: readonly string[], inflight: number, ms: number): Promise<number> {
  let done = 0;
  let next = 0;
  const started = performance.now();
  const end = started + ms;
  const worker = async () => {
    while (performance.now() < end) {
      await v.verify(tokens[next++ % tokens.length]!);
      done++;
    }
  };
  await Promise.all(Array.from({ length: inflight }, worker));
  return done / ((performance.now() - started) / 1000);
}
