import { execFileSync } from 'node:child_process';
import { createHmac, generateKeyPairSync, KeyObject, sign as cryptoSign, webcrypto } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as jose from 'jose';
import type { CryptoKey, JWK, JWTPayload } from 'jose';

/**
 * A fake Google issuer for tests, on 127.0.0.1 (free port). Nothing here reaches Google.
 * test/support/fake-apple.ts is the same issuer with Apple's shapes (claims, key-set path).
 *
 * - `GET /oauth2/v3/certs`: the published JWKS, `Cache-Control: public, max-age=<maxAge>`
 *   (omitted when `maxAge` is null). `mode` switches it to an outage: 'down' (500),
 *   'garbage' (200 with `garbageBody`), 'slow' (answers after `slowMs`), 'hang' (never answers).
 * - `GET /oauth2/v1/certs`: the same RSA keys in Google's older format, `{ kid: PEM }`, what
 *   google-auth-library's `verifyIdToken` fetches on Node. Like Google's, each is a (self-signed)
 *   X.509 certificate, made with the `openssl` command on first request; without `openssl`,
 *   the SPKI public key (`pemKind` says which). Same modes as the JWKS, own counter.
 * - `GET /redirect`: 302 to the certs (a resolver must not follow it).
 * - `mint()` produces Google-shaped ID tokens; `hostile` produces the attacks.
 * - Cross-Account Protection (RISC): `GET /.well-known/risc-configuration`, the discovery
 *   document (`issuer` https://accounts.google.com/, `jwks_uri` the certs above), with its own
 *   `discoveryMode` (same outages) and counter; `mintSet()` signs Security Event Tokens with
 *   the published keys, as Google's RISC transmitter does.
 */

export type FakeGoogleMode = 'ok' | 'down' | 'garbage' | 'slow' | 'hang';

export interface FakeKey {
  kid: string;
  privateKey: CryptoKey | KeyObject;
  publicKey: CryptoKey | KeyObject;
  publicJwk: JWK;
}

export interface FakeGoogleOptions {
  /** `Cache-Control` max-age in seconds; null = no Cache-Control header. Default 3600. */
  maxAge?: number | null;
  /** Default `aud`. */
  clientId?: string;
  /** Clock for `iat`, epoch ms (share the test's fake clock). Default `Date.now`. */
  now?: () => number;
}

export interface MintOptions {
  /** Signing key (default: the current key). */
  key?: FakeKey;
  /** `exp - iat`, seconds. Default: the issuer's (Google 3600, Apple 600). */
  lifetime?: number;
  /** `iat`, seconds. Default: now. */
  iat?: number;
}

/** Claims set to `undefined` in overrides are removed from the token. */
export type ClaimOverrides = Record<string, unknown>;

export class FakeGoogle {
  mode: FakeGoogleMode = 'ok';
  slowMs = 500;
  garbageBody = '<html>not a key set</html>';
  maxAge: number | null;
  clientId: string;
  now: () => number;
  /** Requests to the certs endpoint (any mode). */
  fetchCount = 0;
  /** Requests to the PEM certs endpoint, `/oauth2/v1/certs` (any mode). */
  pemFetchCount = 0;
  /** What `/oauth2/v1/certs` serves: X.509 certificates like Google, or SPKI keys when `openssl` is missing. */
  pemKind: 'x509' | 'spki' | null = null;
  private readonly pems = new Map<string, string>();
  /** Requests to /redirect. */
  redirectCount = 0;
  /** Keys in the published JWKS (the current one first). */
  published: FakeKey[] = [];
  current!: FakeKey;

  private readonly hanging = new Set<ServerResponse>();
  private kidCounter = 0;

  /** Where the JWKS is served. */
  protected readonly keysPath: string = '/oauth2/v3/certs';
  /** The RISC discovery document's outages (the keys it names follow `mode`). */
  discoveryMode: FakeGoogleMode = 'ok';
  /** Requests to the RISC discovery document (any mode). */
  discoveryCount = 0;
  /** The issuer the discovery document names (Google's has a trailing slash; SETs' `iss` may lack it). */
  riscIssuer = 'https://accounts.google.com/';
  /** Overrides the discovery document's `jwks_uri` (default: the certs endpoint). */
  riscJwksUri: string | null = null;
  private setCounter = 0;

  /** Use `start()`, which listens first. */
  constructor(
    private readonly server: Server,
    readonly baseUrl: string,
    opts: FakeGoogleOptions,
  ) {
    this.maxAge = opts.maxAge === undefined ? 3600 : opts.maxAge;
    this.clientId = opts.clientId ?? this.defaultClientId();
    this.now = opts.now ?? Date.now;
  }

  protected defaultClientId(): string {
    return 'test-client.apps.googleusercontent.com';
  }

  static async start<T extends FakeGoogle>(this: new (server: Server, baseUrl: string, opts: FakeGoogleOptions) => T, opts: FakeGoogleOptions = {}): Promise<T> {
    let self: T | undefined;
    const server = createServer((req, res) => self!.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    self = new this(server, `http://127.0.0.1:${port}`, opts);
    self.current = await self.newKey();
    self.published = [self.current];
    return self;
  }

  get jwksUri(): string {
    return `${this.baseUrl}${this.keysPath}`;
  }

  /** google-auth-library: `new OAuth2Client({ endpoints: { oauth2FederatedSignonPemCertsUrl } })`. */
  get pemCertsUri(): string {
    return `${this.baseUrl}/oauth2/v1/certs`;
  }

  get redirectUri(): string {
    return `${this.baseUrl}/redirect`;
  }

  /** The JWKS as published now. */
  jwks(): { keys: JWK[] } {
    return { keys: this.published.map((k) => k.publicJwk) };
  }

  async newKey(alg: 'RS256' | 'ES256' | 'PS256' = 'RS256', modulusLength = 2048): Promise<FakeKey> {
    const kid = `fake-${++this.kidCounter}-${Math.random().toString(36).slice(2, 10)}`;
    // jose refuses to generate RSA keys under 2048 bits; node:crypto makes the weak ones tests need.
    const { privateKey, publicKey } =
      modulusLength < 2048
        ? generateKeyPairSync('rsa', { modulusLength })
        : await jose.generateKeyPair(alg, { extractable: true, ...(alg === 'ES256' ? {} : { modulusLength }) });
    const publicJwk: JWK = { ...(await jose.exportJWK(publicKey)), kid, alg, use: 'sig' };
    return { kid, privateKey, publicKey, publicJwk };
  }

  /** A new current key; the old one stays published unless `keepOld` is false. */
  async rotate({ keepOld = true }: { keepOld?: boolean } = {}): Promise<FakeKey> {
    const next = await this.newKey();
    this.published = keepOld ? [next, ...this.published] : [next];
    this.current = next;
    return next;
  }

  /** Google-shaped claims for `iat` (seconds). */
  claims(iat: number, lifetime = 3600): JWTPayload & Record<string, unknown> {
    return {
      iss: 'https://accounts.google.com',
      azp: this.clientId,
      aud: this.clientId,
      sub: '110169484474386276334',
      email: 'alice@example.com',
      email_verified: true,
      name: 'Alice Example',
      given_name: 'Alice',
      family_name: 'Example',
      picture: 'https://lh3.googleusercontent.com/a/alice',
      locale: 'en',
      iat,
      exp: iat + lifetime,
    };
  }

  /** A Google-shaped ID token signed RS256 by `opts.key` (default: current key). */
  async mint(overrides: ClaimOverrides = {}, header: Record<string, unknown> = {}, opts: MintOptions = {}): Promise<string> {
    const key = opts.key ?? this.current;
    const payload = this.payload(overrides, opts);
    return new jose.CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
      .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'JWT', ...header } as jose.CompactJWSHeaderParameters)
      .sign(key.privateKey);
  }

  /** RS256 over a raw payload string (for claims JSON.stringify cannot produce, e.g. 1e400, or non-objects). */
  async mintRaw(payloadJson: string, header: Record<string, unknown> = {}, key: FakeKey = this.current): Promise<string> {
    return new jose.CompactSign(new TextEncoder().encode(payloadJson))
      .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'JWT', ...header } as jose.CompactJWSHeaderParameters)
      .sign(key.privateKey);
  }

  /**
   * RS256 over an arbitrary header and payload, bypassing jose's checks (jose refuses to sign,
   * e.g., an unknown `crit`): for headers no honest signer produces.
   */
  async signRaw(header: Record<string, unknown>, payloadJson: string, key: FakeKey = this.current): Promise<string> {
    const input = `${b64json(header)}.${Buffer.from(payloadJson).toString('base64url')}`;
    const data = new TextEncoder().encode(input);
    const sig =
      key.privateKey instanceof KeyObject
        ? cryptoSign('sha256', data, key.privateKey)
        : Buffer.from(await webcrypto.subtle.sign('RSASSA-PKCS1-v1_5', key.privateKey as webcrypto.CryptoKey, data));
    return `${input}.${sig.toString('base64url')}`;
  }

  private payload(overrides: ClaimOverrides, opts: MintOptions): Record<string, unknown> {
    const iat = opts.iat ?? Math.floor(this.now() / 1000);
    const payload: Record<string, unknown> = { ...this.claims(iat, opts.lifetime) };
    for (const [k, v] of Object.entries(overrides)) {
      if (v === undefined) delete payload[k];
      else payload[k] = v;
    }
    return payload;
  }

  /** Hostile tokens. */
  readonly hostile = {
    /** `alg: none`, empty signature. */
    algNone: (overrides: ClaimOverrides = {}): string =>
      `${b64json({ alg: 'none', typ: 'JWT', kid: this.current.kid })}.${b64json(this.payload(overrides, {}))}.`,
    /** HS256 with the published RSA public key (PEM/SPKI bytes and the JWK `n`) as the HMAC secret. */
    hs256WithPublicKey: async (overrides: ClaimOverrides = {}, secretForm: 'spki' | 'n' = 'spki'): Promise<string> => {
      const secret = secretForm === 'spki' ? Buffer.from(await jose.exportSPKI(this.current.publicKey)) : Buffer.from(String(this.current.publicJwk.n));
      const input = `${b64json({ alg: 'HS256', typ: 'JWT', kid: this.current.kid })}.${b64json(this.payload(overrides, {}))}`;
      return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
    },
    /** Signed with another algorithm's key but claiming the published kid. */
    otherAlg: async (alg: 'ES256' | 'PS256', overrides: ClaimOverrides = {}): Promise<string> => {
      const key = await this.newKey(alg);
      return new jose.CompactSign(new TextEncoder().encode(JSON.stringify(this.payload(overrides, {}))))
        .setProtectedHeader({ alg, kid: this.current.kid, typ: 'JWT' })
        .sign(key.privateKey);
    },
    /** RS256, published kid, but signed by an unpublished key. */
    wrongKey: async (overrides: ClaimOverrides = {}): Promise<string> => {
      const rogue = await this.newKey();
      return this.mint(overrides, { kid: this.current.kid }, { key: rogue });
    },
    /** A valid token whose payload was then replaced (signature kept). */
    tamperedPayload: async (overrides: ClaimOverrides = { email: 'mallory@example.com' }): Promise<string> => {
      const [h, , s] = (await this.mint()).split('.');
      return `${h}.${b64json(this.payload(overrides, {}))}.${s}`;
    },
    /** Signed by an unpublished key with a kid nobody published. */
    unknownKid: async (kid = `made-up-${Math.random().toString(36).slice(2)}`, overrides: ClaimOverrides = {}): Promise<string> => {
      const rogue = await this.newKey();
      return this.mint(overrides, { kid }, { key: rogue });
    },
  };

  get riscConfigUri(): string {
    return `${this.baseUrl}/.well-known/risc-configuration`;
  }

  /**
   * A Security Event Token as Google's RISC transmitter pushes it: RS256 by the current key
   * (or `opts.key`), `iss` the RISC issuer, `aud` the client id, `iat` now, a fresh `jti`,
   * `events` as given. Claims set to `undefined` in `overrides` are removed.
   */
  async mintSet(events: Record<string, unknown>, overrides: ClaimOverrides = {}, opts: { key?: FakeKey; header?: Record<string, unknown> } = {}): Promise<string> {
    const payload: Record<string, unknown> = {
      iss: this.riscIssuer,
      aud: this.clientId,
      iat: Math.floor(this.now() / 1000),
      jti: `set-${++this.setCounter}-${Math.random().toString(36).slice(2, 12)}`,
      events,
    };
    for (const [k, v] of Object.entries(overrides)) {
      if (v === undefined) delete payload[k];
      else payload[k] = v;
    }
    const key = opts.key ?? this.current;
    return new jose.CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
      .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'secevent+jwt', ...opts.header } as jose.CompactJWSHeaderParameters)
      .sign(key.privateKey);
  }

  protected handle(req: IncomingMessage, res: ServerResponse): void {
    const path = new URL(req.url ?? '/', this.baseUrl).pathname;
    if (path === '/.well-known/risc-configuration') {
      this.discoveryCount++;
      const body = JSON.stringify({
        issuer: this.riscIssuer,
        jwks_uri: this.riscJwksUri ?? this.jwksUri,
        delivery_methods_supported: ['https://schemas.openid.net/secevent/risc/delivery-method/push'],
        add_subject_endpoint: 'https://risc.googleapis.com/v1beta/subjects:add',
        remove_subject_endpoint: 'https://risc.googleapis.com/v1beta/subjects:remove',
      });
      this.serve(res, this.discoveryMode, () => res.writeHead(200, this.headers()).end(body));
      return;
    }
    if (path === '/redirect') {
      this.redirectCount++;
      res.writeHead(302, { location: this.jwksUri }).end();
      return;
    }
    const pem = path === '/oauth2/v1/certs';
    if (path !== this.keysPath && !pem) {
      res.writeHead(404).end();
      return;
    }
    if (pem) this.pemFetchCount++;
    else this.fetchCount++;
    this.serve(res, this.mode, () => (pem ? this.sendPems(res) : this.sendJwks(res)));
  }

  /** Answers as `mode` says: `send` when all is well, an outage otherwise. */
  private serve(res: ServerResponse, mode: FakeGoogleMode, send: () => void): void {
    switch (mode) {
      case 'down':
        res.writeHead(500, { 'content-type': 'text/plain' }).end('internal error');
        return;
      case 'garbage':
        res.writeHead(200, this.headers()).end(this.garbageBody);
        return;
      case 'hang':
        this.hanging.add(res);
        res.once('close', () => this.hanging.delete(res));
        return;
      case 'slow': {
        const timer = setTimeout(send, this.slowMs);
        res.once('close', () => clearTimeout(timer));
        return;
      }
      default:
        send();
    }
  }

  private sendPems(res: ServerResponse): void {
    if (res.destroyed) return;
    const pems: Record<string, string> = {};
    for (const k of this.published) if (k.publicJwk.kty === 'RSA') pems[k.kid] = this.pemOf(k);
    res.writeHead(200, this.headers()).end(JSON.stringify(pems));
  }

  private pemOf(k: FakeKey): string {
    let pem = this.pems.get(k.kid);
    if (pem) return pem;
    const obj = (key: CryptoKey | KeyObject) => (key instanceof KeyObject ? key : KeyObject.from(key as webcrypto.CryptoKey));
    try {
      const dir = mkdtempSync(join(tmpdir(), 'fake-google-'));
      try {
        const keyFile = join(dir, 'key.pem');
        writeFileSync(keyFile, obj(k.privateKey).export({ type: 'pkcs8', format: 'pem' }) as string, { mode: 0o600 });
        pem = execFileSync('openssl', ['req', '-x509', '-new', '-key', keyFile, '-subj', `/CN=${k.kid}`, '-days', '2', '-sha256'], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'ignore'],
        });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      this.pemKind = 'x509';
    } catch {
      pem = obj(k.publicKey).export({ type: 'spki', format: 'pem' }) as string;
      this.pemKind = 'spki';
    }
    this.pems.set(k.kid, pem);
    return pem;
  }

  private sendJwks(res: ServerResponse): void {
    if (res.destroyed) return;
    res.writeHead(200, this.headers()).end(JSON.stringify(this.jwks()));
  }

  private headers(): Record<string, string> {
    const h: Record<string, string> = { 'content-type': 'application/json; charset=UTF-8' };
    if (this.maxAge !== null) h['cache-control'] = `public, max-age=${this.maxAge}, must-revalidate, no-transform`;
    return h;
  }

  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export function b64json(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** A controllable clock (epoch ms), starting at the real time. */
export class FakeClock {
  constructor(public t = Date.now()) {}
  readonly now = (): number => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}
