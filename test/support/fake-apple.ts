import { randomBytes, type KeyObject } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as jose from 'jose';
import type { JWTPayload } from 'jose';
import { FakeGoogle, type ClaimOverrides } from './fake-google.js';

/**
 * A fake Sign in with Apple on 127.0.0.1: FakeGoogle (its RSA key set, outage modes, hostile
 * tokens) with Apple's shapes. Nothing here reaches Apple.
 *
 * - `GET /auth/keys`: the key set (Apple's path). `mint()` makes identity tokens as a native iOS
 *   app receives them: `iss` https://appleid.apple.com, `aud` the app's bundle id, a 10-minute
 *   lifetime, no name, `email_verified` / `is_private_email` as strings.
 * - `POST /auth/token`: the code exchange. Checks the `client_secret` JWT (ES256, signed by the
 *   key given to `trustClientSecretKey`, `kid`, `iss` the team id, `sub` = `client_id`, `aud`
 *   Apple, not expired) and that the code was issued (`issueCode`) for that client and not yet
 *   used; answers a new refresh token. `tokenMode`: 'ok', 'down' (500), 'hang' (never answers),
 *   'invalid_grant' (400).
 * - `POST /auth/revoke`: checks the client secret the same way and records the token
 *   (`revoked`). `revokeMode`: 'ok', 'down' (503), 'invalid_grant' (400), 'hang'.
 * - `notification()` mints a server-to-server notification as Apple posts it.
 */
export const APPLE_SUB = '001234.9f3c2a7b5d1e4c6a8b0d2f4e6a8c0e2b.0456';

export type AppleEndpointMode = 'ok' | 'down' | 'hang' | 'invalid_grant';

export class FakeApple extends FakeGoogle {
  protected override readonly keysPath: string = '/auth/keys';
  tokenMode: AppleEndpointMode = 'ok';
  revokeMode: AppleEndpointMode = 'ok';
  /** Every POST to /auth/token and /auth/revoke, answered or not. */
  tokenCalls = 0;
  revokeCalls = 0;
  /** Refresh tokens handed out, and those revoked (in order; a token revoked twice appears twice). */
  readonly issued: string[] = [];
  readonly revoked: { token: string; clientId: string }[] = [];
  /** Why the last request to a token endpoint was refused (`client_secret`, `code`, …). */
  lastRefusal: string | null = null;
  private readonly codes = new Map<string, { clientId: string; used: boolean }>();
  private secretKey: { key: KeyObject; teamId: string; keyId: string } | null = null;
  private readonly hangingPosts = new Set<ServerResponse>();

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

  get tokenUrl(): string {
    return `${this.baseUrl}/auth/token`;
  }

  get revokeUrl(): string {
    return `${this.baseUrl}/auth/revoke`;
  }

  /** The developer account's public key: client secrets must verify with it. */
  trustClientSecretKey(key: KeyObject, teamId: string, keyId: string): void {
    this.secretKey = { key, teamId, keyId };
  }

  /** An authorization code for `clientId` (default: the app's bundle id), single use. */
  issueCode(clientId: string = this.clientId): string {
    const code = `c${randomBytes(12).toString('hex')}.0.nrxq.${randomBytes(8).toString('base64url')}`;
    this.codes.set(code, { clientId, used: false });
    return code;
  }

  /** A server-to-server notification JWT: `events` as Apple sends it (a JSON string) unless given as a string already. */
  async notification(events: Record<string, unknown> | string, overrides: ClaimOverrides = {}, header: Record<string, unknown> = {}): Promise<string> {
    const iat = Math.floor(this.now() / 1000);
    const payload: Record<string, unknown> = {
      iss: 'https://appleid.apple.com',
      aud: this.clientId,
      iat,
      jti: randomBytes(8).toString('hex'),
      events: typeof events === 'string' ? events : JSON.stringify(events),
    };
    for (const [k, v] of Object.entries(overrides)) {
      if (v === undefined) delete payload[k];
      else payload[k] = v;
    }
    return new jose.CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
      .setProtectedHeader({ alg: 'RS256', kid: this.current.kid, ...header } as jose.CompactJWSHeaderParameters)
      .sign(this.current.privateKey);
  }

  protected override handle(req: IncomingMessage, res: ServerResponse): void {
    const path = new URL(req.url ?? '/', this.baseUrl).pathname;
    if (req.method !== 'POST' || (path !== '/auth/token' && path !== '/auth/revoke')) return super.handle(req, res);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void this.answerPost(path, new URLSearchParams(Buffer.concat(chunks).toString('utf8')), res).catch(() => res.writeHead(500).end());
    });
  }

  private async answerPost(path: string, form: URLSearchParams, res: ServerResponse): Promise<void> {
    const token = path === '/auth/token';
    if (token) this.tokenCalls++;
    else this.revokeCalls++;
    const mode = token ? this.tokenMode : this.revokeMode;
    const json = (status: number, body: object) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (mode === 'hang') {
      this.hangingPosts.add(res);
      res.once('close', () => this.hangingPosts.delete(res));
      return;
    }
    if (mode === 'down') return void json(token ? 500 : 503, { error: 'server_error' });
    const clientId = form.get('client_id') ?? '';
    if (!(await this.clientSecretValid(form.get('client_secret'), clientId))) return void json(400, { error: 'invalid_client' });
    if (mode === 'invalid_grant') return void json(400, { error: 'invalid_grant' });
    if (token) {
      const code = this.codes.get(form.get('code') ?? '');
      if (form.get('grant_type') !== 'authorization_code' || !code || code.used || code.clientId !== clientId) {
        this.lastRefusal = 'code';
        return void json(400, { error: 'invalid_grant' });
      }
      code.used = true;
      const refresh = `r${randomBytes(16).toString('hex')}.0.mrxq.${randomBytes(12).toString('base64url')}`;
      this.issued.push(refresh);
      return void json(200, { access_token: `a${randomBytes(8).toString('hex')}`, token_type: 'Bearer', expires_in: 3600, refresh_token: refresh, id_token: 'x.y.z' });
    }
    if (form.get('token_type_hint') !== 'refresh_token' || !form.get('token')) {
      this.lastRefusal = 'token';
      return void json(400, { error: 'invalid_request' });
    }
    this.revoked.push({ token: form.get('token')!, clientId });
    res.writeHead(200).end();
  }

  private async clientSecretValid(secret: string | null, clientId: string): Promise<boolean> {
    if (!this.secretKey || !secret) {
      this.lastRefusal = 'client_secret';
      return false;
    }
    try {
      const { payload, protectedHeader } = await jose.jwtVerify(secret, this.secretKey.key, {
        algorithms: ['ES256'],
        issuer: this.secretKey.teamId,
        audience: 'https://appleid.apple.com',
        subject: clientId,
        currentDate: new Date(this.now()),
        requiredClaims: ['iat', 'exp'],
      });
      if (protectedHeader.kid !== this.secretKey.keyId || (payload.exp as number) - (payload.iat as number) > 15_777_000) throw new Error('kid or lifetime');
      return true;
    } catch {
      this.lastRefusal = 'client_secret';
      return false;
    }
  }

  override async close(): Promise<void> {
    for (const res of this.hangingPosts) res.destroy();
    await super.close();
  }
}
