import * as jose from 'jose';
import type { CryptoKey } from 'jose';
import { KNOWN_EVENTS } from './events.js';

/**
 * The RISC stream management API (https://risc.googleapis.com/v1beta/…), as `npm run risc`
 * uses it: the project's stream (where Google pushes, which events), its status, and a
 * verification event on demand. Authenticated by a JWT the service account signs itself
 * (no OAuth exchange): `iss` = `sub` = the account's e-mail, `aud` the RISC management
 * service, `kid` the key's id, 1 hour. The account needs the role "RISC Configuration Admin".
 */

export const RISC_MANAGEMENT_AUDIENCE = 'https://risc.googleapis.com/google.identity.risc.v1beta.RiscManagementService';
export const PUSH_DELIVERY = 'https://schemas.openid.net/secevent/risc/delivery-method/push';
/** Every event type the receiver knows (src/risc/events.ts): what `configure` asks for. */
export const EVENTS_REQUESTED: readonly string[] = [...KNOWN_EVENTS.keys()];
const TOKEN_LIFETIME_S = 3600;
const REQUEST_TIMEOUT_MS = 15_000;
const MAX_FILE_BYTES = 64 * 1024;

/** A problem to report as it is (a message for the operator, no stack). `usage` problems exit 2, the others 1. */
export class RiscCliError extends Error {
  constructor(
    message: string,
    readonly usage = false,
  ) {
    super(message);
    this.name = 'RiscCliError';
  }
}

export interface ServiceAccount {
  clientEmail: string;
  privateKeyId: string;
  privateKey: CryptoKey;
}

/** A service account key file (JSON, as the Cloud console downloads it), checked field by field. */
export async function readServiceAccount(text: string, name: string): Promise<ServiceAccount> {
  if (text.length > MAX_FILE_BYTES) throw new RiscCliError(`${name} is not a service account key file (over 64 KB)`, true);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new RiscCliError(`${name} is not JSON: download a JSON key of the service account (IAM → Service accounts → Keys → Add key → JSON)`, true);
  }
  const f = (typeof json === 'object' && json !== null ? json : {}) as Record<string, unknown>;
  if (f.type !== 'service_account') throw new RiscCliError(`${name} is not a service account key ("type" is not "service_account")`, true);
  for (const field of ['client_email', 'private_key', 'private_key_id'] as const) {
    if (typeof f[field] !== 'string' || f[field] === '') throw new RiscCliError(`${name} has no "${field}"`, true);
  }
  let privateKey: CryptoKey;
  try {
    privateKey = await jose.importPKCS8(f.private_key as string, 'RS256');
  } catch {
    throw new RiscCliError(`${name}: "private_key" is not an RSA private key in PEM (PKCS #8)`, true);
  }
  return { clientEmail: f.client_email as string, privateKeyId: f.private_key_id as string, privateKey };
}

/** The Bearer token for the management API. */
export async function managementToken(sa: ServiceAccount, nowMs: number): Promise<string> {
  const iat = Math.floor(nowMs / 1000);
  return new jose.SignJWT({})
    .setProtectedHeader({ alg: 'RS256', kid: sa.privateKeyId, typ: 'JWT' })
    .setIssuer(sa.clientEmail)
    .setSubject(sa.clientEmail)
    .setAudience(RISC_MANAGEMENT_AUDIENCE)
    .setIssuedAt(iat)
    .setExpirationTime(iat + TOKEN_LIFETIME_S)
    .sign(sa.privateKey);
}

export interface ManagementClientOptions {
  /** RISC_API_URL, without a trailing slash. */
  apiUrl: string;
  serviceAccount: ServiceAccount;
  fetch?: typeof fetch;
  now?: () => number;
}

export class RiscManagementClient {
  constructor(private readonly o: ManagementClientOptions) {}

  /** POST /v1beta/stream:update: push to `receiverUrl`, every event type the receiver knows. */
  configure(receiverUrl: string): Promise<unknown> {
    return this.call('POST', '/v1beta/stream:update', { delivery: { delivery_method: PUSH_DELIVERY, url: receiverUrl }, events_requested: EVENTS_REQUESTED });
  }

  /** GET /v1beta/stream: the stream's configuration. */
  stream(): Promise<unknown> {
    return this.call('GET', '/v1beta/stream');
  }

  /** GET /v1beta/stream/status. */
  status(): Promise<unknown> {
    return this.call('GET', '/v1beta/stream/status');
  }

  /** POST /v1beta/stream/status:update. */
  setStatus(status: 'enabled' | 'disabled'): Promise<unknown> {
    return this.call('POST', '/v1beta/stream/status:update', { status });
  }

  /** POST /v1beta/stream:verify: Google pushes a verification event carrying `state`. */
  verify(state: string): Promise<unknown> {
    return this.call('POST', '/v1beta/stream:verify', { state });
  }

  private async call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
    const url = `${this.o.apiUrl}${path}`;
    const token = await managementToken(this.o.serviceAccount, (this.o.now ?? Date.now)());
    let res: Response;
    try {
      res = await (this.o.fetch ?? fetch)(url, {
        method,
        redirect: 'error',
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        headers: { authorization: `Bearer ${token}`, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      const cause = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
      throw new RiscCliError(`could not reach ${this.o.apiUrl} (${cause})`);
    }
    const text = await res.text().catch(() => '');
    let json: unknown = null;
    try {
      json = text === '' ? {} : JSON.parse(text);
    } catch {
      json = null;
    }
    if (!res.ok) throw new RiscCliError(`${method} ${path}: Google answered HTTP ${res.status}${googleMessage(json)}`);
    return json ?? {};
  }
}

/** Google's error body `{"error":{"code","message","status"}}`, as `: STATUS: message` (bounded, one line). */
function googleMessage(json: unknown): string {
  const e = (json as { error?: { message?: unknown; status?: unknown } } | null)?.error;
  if (!e) return '';
  const parts = [typeof e.status === 'string' ? e.status : null, typeof e.message === 'string' ? e.message : null].filter(Boolean) as string[];
  return parts.length === 0 ? '' : `: ${parts.join(': ').replace(/\s+/g, ' ').slice(0, 500)}`;
}
