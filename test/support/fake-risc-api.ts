import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as jose from 'jose';

/**
 * A fake RISC stream management API (https://risc.googleapis.com/v1beta/…) on 127.0.0.1, for
 * `npm run risc`. It checks the Bearer token as Google does (RS256 by the service account's
 * key, `iss` = `sub` = its e-mail, `aud` the management service, `kid` the key id, not
 * expired), keeps the stream's configuration and status, records every request, and can be
 * told to refuse (`failWith`).
 */
export interface RecordedRequest {
  method: string;
  path: string;
  body: unknown;
  claims: jose.JWTPayload | null;
  kid: string | null;
}

export class FakeRiscApi {
  readonly requests: RecordedRequest[] = [];
  stream: Record<string, unknown> = {};
  status = 'disabled';
  /** Answer every request with this HTTP status and Google's error body, when set. */
  failWith: { status: number; code: string; message: string } | null = null;

  private constructor(
    private readonly server: Server,
    readonly url: string,
    private readonly account: { email: string; keyId: string; publicKey: jose.CryptoKey },
  ) {}

  static async start(account: { email: string; keyId: string; publicKey: jose.CryptoKey }): Promise<FakeRiscApi> {
    let self: FakeRiscApi | undefined;
    const server = createServer((req, res) => void self!.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    self = new FakeRiscApi(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`, account);
    return self;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const path = new URL(req.url ?? '/', this.url).pathname;
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    let claims: jose.JWTPayload | null = null;
    let kid: string | null = null;
    try {
      const v = await jose.jwtVerify(token ?? '', this.account.publicKey, {
        algorithms: ['RS256'],
        issuer: this.account.email,
        subject: this.account.email,
        audience: 'https://risc.googleapis.com/google.identity.risc.v1beta.RiscManagementService',
        requiredClaims: ['exp', 'iat'],
      });
      claims = v.payload;
      kid = v.protectedHeader.kid ?? null;
    } catch {
      claims = null;
    }
    let body: unknown = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = text;
    }
    this.requests.push({ method: req.method ?? '', path, body, claims, kid });
    const send = (status: number, json: unknown): void => void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json));
    if (!claims || kid !== this.account.keyId || (claims.exp ?? 0) - (claims.iat ?? 0) > 3600) {
      return send(401, { error: { code: 401, message: 'Request had invalid authentication credentials.', status: 'UNAUTHENTICATED' } });
    }
    if (this.failWith) return send(this.failWith.status, { error: { code: this.failWith.status, message: this.failWith.message, status: this.failWith.code } });
    const route = `${req.method} ${path}`;
    switch (route) {
      case 'POST /v1beta/stream:update':
        this.stream = body as Record<string, unknown>;
        return send(200, {});
      case 'GET /v1beta/stream':
        return send(200, this.stream);
      case 'POST /v1beta/stream/status:update':
        this.status = (body as { status: string }).status;
        return send(200, { status: this.status });
      case 'GET /v1beta/stream/status':
        return send(200, { status: this.status });
      case 'POST /v1beta/stream:verify':
        return send(200, {});
      default:
        return send(404, { error: { code: 404, message: `no route ${route}`, status: 'NOT_FOUND' } });
    }
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
