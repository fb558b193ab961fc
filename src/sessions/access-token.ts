import { sign as signBytes } from 'node:crypto';
import { decodeProtectedHeader, errors, jwtVerify, type JWTPayload } from 'jose';
import { AuthError } from '../errors.js';
import { isRandomId } from './ids.js';
import { SIGNING_ALG, type SigningKeys } from './signing-keys.js';

/**
 * Our access tokens: short-lived ES256 JWTs that standard JWT middleware (Apollo Router,
 * express-jwt, …) can verify from `/.well-known/jwks.json`:
 * header `{ alg: ES256, kid, typ: at+jwt }`, claims `iss aud sub(user id) sid iat exp`.
 * A valid signature is not enough on its own: the context builder also checks the session
 * in the store, so sign-out and revocation take effect at once on every instance.
 */

export interface AccessClaims {
  userId: string;
  sessionId: string;
  /** Expiry, epoch ms. */
  expiresAt: number;
  /** Issue time, epoch ms (introspection answers it; kept here so it is never decoded again). */
  issuedAt: number;
}

export interface AccessTokenOptions {
  keys: SigningKeys;
  issuer: string;
  audience: string;
  ttlMs: number;
  now?: () => number;
  /** Verified tokens remembered in process (bounded). Default 10 000. */
  cacheSize?: number;
}

const MAX_TOKEN_LENGTH = 4096;
const TYP = 'at+jwt';

export class AccessTokens {
  /**
   * Tokens whose signature and claims were already checked, keyed by the exact token string,
   * until their `exp`. Safe because a JWT cannot change without changing the string, and
   * revocation is checked in the store on every request anyway; it saves an ECDSA
   * verification on the hot path (issue: performance). Map order gives FIFO eviction.
   * Only the canonical spelling of a token gets in (see `isCanonical`), so one token is one
   * entry: a client cannot churn the cache with respellings of its own valid token.
   */
  private readonly verified = new Map<string, AccessClaims>();
  private readonly now: () => number;
  private readonly cacheSize: number;

  constructor(private readonly opts: AccessTokenOptions) {
    this.now = opts.now ?? Date.now;
    this.cacheSize = opts.cacheSize ?? 10_000;
  }

  /** The header segment of the key that signed last (it changes only when the active key does). */
  private header: { kid: string; segment: string } | null = null;

  /**
   * A compact JWS built directly: the header segment is fixed per key, the claims are one
   * JSON object in the order jose's SignJWT would write them, and the signature is node:crypto's
   * synchronous ECDSA P-256 / SHA-256 in JOSE's `r || s` encoding (`ieee-p1363`, RFC 7518 §3.4).
   * The result is an ordinary ES256 JWT; every verifier, ours included (jose, below), checks
   * it as any other. WebCrypto's asynchronous sign would do the same work on the thread pool,
   * at about twice the CPU for the dispatch (docs/benchmarks.md).
   */
  async sign(userId: string, sessionId: string): Promise<{ token: string; expiresAt: number }> {
    const key = this.opts.keys.active();
    const iat = Math.floor(this.now() / 1000);
    const exp = iat + Math.floor(this.opts.ttlMs / 1000);
    const claims = { sid: sessionId, iss: this.opts.issuer, aud: this.opts.audience, sub: userId, iat, exp };
    const input = `${this.headerSegment(key.stored.kid)}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
    const signature = signBytes('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
    return { token: `${input}.${signature.toString('base64url')}`, expiresAt: exp * 1000 };
  }

  private headerSegment(kid: string): string {
    if (this.header?.kid !== kid) {
      const header = { alg: SIGNING_ALG, kid, typ: TYP };
      this.header = { kid, segment: Buffer.from(JSON.stringify(header)).toString('base64url') };
    }
    return this.header.segment;
  }

  /**
   * The claims of a token already verified here, without waiting: null when it is not in the
   * cache (then `verify`). Throws AuthError `token_expired` once it has expired.
   */
  alreadyVerified(token: string): AccessClaims | null {
    const cached = this.verified.get(token);
    if (!cached) return null;
    if (cached.expiresAt > this.now()) return cached;
    this.verified.delete(token);
    throw new AuthError('token_expired');
  }

  /** Verifies signature and claims; throws AuthError `invalid_token` or `token_expired`. */
  async verify(token: string): Promise<AccessClaims> {
    const cached = this.alreadyVerified(token);
    if (cached) return cached;
    const now = this.now();
    if (token.length > MAX_TOKEN_LENGTH || !isCanonical(token)) throw new AuthError('invalid_token');
    let payload: JWTPayload;
    try {
      const { kid } = decodeProtectedHeader(token);
      if (typeof kid !== 'string') throw new AuthError('invalid_token');
      const key = await this.opts.keys.publicKey(kid);
      if (!key) throw new AuthError('invalid_token');
      ({ payload } = await jwtVerify(token, key, {
        algorithms: [SIGNING_ALG],
        issuer: this.opts.issuer,
        audience: this.opts.audience,
        typ: TYP,
        currentDate: new Date(now),
        requiredClaims: ['sub', 'sid', 'exp', 'iat'],
      }));
    } catch (err) {
      if (err instanceof AuthError) throw err;
      if (err instanceof errors.JWTExpired) throw new AuthError('token_expired');
      throw new AuthError('invalid_token');
    }
    const { sub, sid, exp, iat } = payload;
    if (!isRandomId(sub) || !isRandomId(sid) || typeof exp !== 'number' || typeof iat !== 'number') throw new AuthError('invalid_token');
    const claims: AccessClaims = { userId: sub, sessionId: sid, expiresAt: exp * 1000, issuedAt: iat * 1000 };
    if (this.verified.size >= this.cacheSize) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(token, claims);
    return claims;
  }
}

/**
 * True when every segment is canonical base64url: no padding, and zero unused bits in the
 * last character. jose decodes leniently (`==` padding, non-zero spare bits), so without
 * this one signed token has several spellings that all verify: each would cost an ECDSA
 * verification and take its own cache entry, letting one client with one valid token churn
 * the bounded cache at will. We only ever issue the canonical spelling, so refusing the
 * others refuses nothing we signed. Decoding and re-encoding must give back the same
 * string; anything else (padding, spare bits, characters outside the alphabet, a length no
 * encoding has) changes it. Runs on a cache miss only, before the signature check.
 */
function isCanonical(token: string): boolean {
  const segments = token.split('.');
  if (segments.length !== 3) return false;
  for (const segment of segments) if (Buffer.from(segment, 'base64url').toString('base64url') !== segment) return false;
  return true;
}
