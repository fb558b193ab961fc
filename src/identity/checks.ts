import { createHash, timingSafeEqual } from 'node:crypto';
import { AuthReason } from '../errors.js';

/** Client nonces longer than this cannot match (and are not hashed). */
const MAX_NONCE_LENGTH = 1024;

/**
 * The token's nonce must equal the client's nonce or its SHA-256 (lowercase hex): some
 * clients hand the provider the hash and keep the raw value (Apple's documentation does so,
 * several Google SDKs too). Both comparisons always run, in constant time for equal lengths.
 * An empty or non-string client nonce matches nothing.
 */
export function nonceMatches(expected: unknown, actual: unknown): boolean {
  if (typeof expected !== 'string' || expected.length === 0 || expected.length > MAX_NONCE_LENGTH) return false;
  if (typeof actual !== 'string' || actual.length === 0) return false;
  const got = Buffer.from(actual, 'utf8');
  const raw = Buffer.from(expected, 'utf8');
  const hashed = Buffer.from(createHash('sha256').update(raw).digest('hex'), 'utf8');
  return equal(got, raw) | equal(got, hashed) ? true : false;
}

function equal(a: Buffer, b: Buffer): 0 | 1 {
  return a.length === b.length && timingSafeEqual(a, b) ? 1 : 0;
}

/** jose's typed errors → our reasons. Anything unrecognised could not be shown authentic. */
export function reasonForJoseError(err: unknown): AuthReason {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  switch (code) {
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return AuthReason.BAD_SIGNATURE;
    case 'ERR_JWT_EXPIRED':
      return AuthReason.EXPIRED;
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return AuthReason.UNSUPPORTED_ALGORITHM;
    // `alg` was checked before: "not supported" here is another feature (e.g. an unknown `crit`).
    case 'ERR_JOSE_NOT_SUPPORTED':
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
      return AuthReason.MALFORMED;
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED': {
      const { claim, reason } = err as { claim?: unknown; reason?: unknown };
      if (reason === 'missing') return AuthReason.MISSING_CLAIM;
      if (reason === 'invalid') return AuthReason.MALFORMED;
      if (claim === 'iss') return AuthReason.WRONG_ISSUER;
      if (claim === 'aud') return AuthReason.WRONG_AUDIENCE;
      if (claim === 'nbf' || claim === 'iat') return AuthReason.ISSUED_IN_FUTURE;
      return AuthReason.MALFORMED;
    }
    default:
      return AuthReason.BAD_SIGNATURE;
  }
}
