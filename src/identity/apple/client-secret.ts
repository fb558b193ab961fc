import type { KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';

/** Apple's token endpoints' audience for the `client_secret` JWT. */
export const APPLE_AUDIENCE = 'https://appleid.apple.com';
/**
 * A client secret's lifetime. Apple accepts up to six months; a short one limits what a copy
 * (a proxy's log, a captured request) is worth, and signing one every few minutes costs nothing.
 */
export const CLIENT_SECRET_TTL_S = 5 * 60;
/** A cached secret is replaced this long before it expires, so none is sent about to expire. */
const RENEW_BEFORE_S = 60;

export interface ClientSecretKey {
  teamId: string;
  keyId: string;
  privateKey: KeyObject;
}

/**
 * The `client_secret` of Apple's token endpoints: an ES256 JWT signed with the developer
 * account's key (`kid` the Key ID; `iss` the Team ID, `sub` the client id, `aud` Apple), one per
 * client id, cached until shortly before it expires.
 */
export class AppleClientSecrets {
  private readonly cache = new Map<string, { jwt: Promise<string>; exp: number }>();

  constructor(
    private readonly key: ClientSecretKey,
    private readonly now: () => number = Date.now,
  ) {}

  get(clientId: string): Promise<string> {
    const nowS = Math.floor(this.now() / 1000);
    const cached = this.cache.get(clientId);
    if (cached && cached.exp - RENEW_BEFORE_S > nowS) return cached.jwt;
    const exp = nowS + CLIENT_SECRET_TTL_S;
    const jwt = new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: this.key.keyId })
      .setIssuer(this.key.teamId)
      .setSubject(clientId)
      .setAudience(APPLE_AUDIENCE)
      .setIssuedAt(nowS)
      .setExpirationTime(exp)
      .sign(this.key.privateKey);
    // A failed signing is not cached: the next call tries again.
    jwt.catch(() => this.cache.delete(clientId));
    this.cache.set(clientId, { jwt, exp });
    return jwt;
  }
}
