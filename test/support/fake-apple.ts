import type { JWTPayload } from 'jose';
import { FakeGoogle } from './fake-google.js';

/**
 * A fake Sign in with Apple issuer on 127.0.0.1: FakeGoogle (its RSA key set, outage modes,
 * hostile tokens) with Apple's shapes. The key set is served at `/auth/keys` (Apple's path);
 * `mint()` makes identity tokens as a native iOS app receives them: `iss`
 * https://appleid.apple.com, `aud` the app's bundle id, a 10-minute lifetime, no name, and
 * `email_verified` / `is_private_email` as strings (Apple sends strings or booleans).
 */
export const APPLE_SUB = '001234.9f3c2a7b5d1e4c6a8b0d2f4e6a8c0e2b.0456';

export class FakeApple extends FakeGoogle {
  protected override readonly keysPath: string = '/auth/keys';

  protected override defaultClientId(): string {
    return 'com.example.app';
  }

  override claims(iat: number, lifetime = 600): JWTPayload & Record<string, unknown> {
    return {
      iss: 'https://appleid.apple.com',
      aud: this.clientId,
      sub: APPLE_SUB,
      email: 'x7k2p9q4rs@privaterelay.appleid.com',
      email_verified: 'true',
      is_private_email: 'true',
      real_user_status: 2,
      auth_time: iat,
      nonce_supported: true,
      iat,
      exp: iat + lifetime,
    };
  }
}
