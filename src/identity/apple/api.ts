import type { AppleClientSecrets } from './client-secret.js';
import { BodyTooLarge, readCappedBody } from '../../util/read-capped-body.js';

/** One call's limit (connect, send, answer). */
export const APPLE_CALL_TIMEOUT_MS = 10_000;
/** Apple's answers are a few hundred bytes; a longer one is not read past this. */
const MAX_ANSWER_BYTES = 64 * 1024;
/**
 * `error` values of a 400 that say the token is already unusable (revoked by the person,
 * expired, never valid): retrying cannot help, so the revocation is done.
 */
const DEAD_TOKEN_ERRORS = new Set(['invalid_grant', 'invalid_token']);

export type ExchangeResult = { ok: true; refreshToken: string } | { ok: false; error: string };
export type RevokeResult = { ok: true } | { ok: false; error: string; dead: boolean };

export interface AppleTokenApiOptions {
  tokenUrl: string;
  revokeUrl: string;
  secrets: AppleClientSecrets;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

/**
 * Apple's token endpoints (form posts, authenticated by the `client_secret` JWT): exchanging an
 * authorization code for a refresh token, and revoking one. Every call is bounded (timeout,
 * answer size), follows no redirect (a redirected POST would carry the secret and the token
 * somewhere nobody configured), and describes failures without the code, the token, the secret
 * or Apple's free-text description: only the status and Apple's `error` code.
 */
export class AppleTokenApi {
  private readonly fetchImpl: typeof fetch;
  private readonly timeoutMs: number;

  constructor(private readonly o: AppleTokenApiOptions) {
    this.fetchImpl = o.fetch ?? fetch;
    this.timeoutMs = o.timeoutMs ?? APPLE_CALL_TIMEOUT_MS;
  }

  async exchange(clientId: string, code: string, signal?: AbortSignal): Promise<ExchangeResult> {
    const answer = await this.post(this.o.tokenUrl, clientId, { code, grant_type: 'authorization_code' }, signal);
    if (!answer.ok) return answer;
    const refreshToken = (answer.body as { refresh_token?: unknown } | null)?.refresh_token;
    if (typeof refreshToken !== 'string' || refreshToken.length === 0 || refreshToken.length > 4096) return { ok: false, error: 'answer without a refresh_token' };
    return { ok: true, refreshToken };
  }

  async revoke(clientId: string, token: string, signal?: AbortSignal): Promise<RevokeResult> {
    const answer = await this.post(this.o.revokeUrl, clientId, { token, token_type_hint: 'refresh_token' }, signal);
    if (answer.ok) return { ok: true };
    return { ok: false, error: answer.error, dead: answer.status === 400 && DEAD_TOKEN_ERRORS.has(answer.code ?? '') };
  }

  private async post(
    url: string,
    clientId: string,
    fields: Record<string, string>,
    signal: AbortSignal | undefined,
  ): Promise<{ ok: true; body: unknown } | { ok: false; error: string; status?: number; code?: string }> {
    const body = new URLSearchParams({ client_id: clientId, client_secret: await this.o.secrets.get(clientId), ...fields });
    const timeout = AbortSignal.timeout(this.timeoutMs);
    try {
      const res = await this.fetchImpl(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', 'user-agent': 'graphql-auth-gateway/1' },
        body,
        redirect: 'error',
        signal: signal ? AbortSignal.any([timeout, signal]) : timeout,
      });
      const text = await readCappedBody(res, MAX_ANSWER_BYTES);
      let parsed: unknown = null;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        parsed = null;
      }
      if (res.ok) return { ok: true, body: parsed };
      const code = (parsed as { error?: unknown } | null)?.error;
      const safeCode = typeof code === 'string' && /^[a-z_]{1,40}$/.test(code) ? code : undefined;
      return { ok: false, status: res.status, code: safeCode, error: `HTTP ${res.status}${safeCode ? ` ${safeCode}` : ''}` };
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      if (e.name === 'TimeoutError' || timeout.aborted) return { ok: false, error: 'timeout' };
      if (signal?.aborted) throw err;
      // The cause's code (ECONNREFUSED, …) says enough; a message could quote the URL or the body.
      return { ok: false, error: err instanceof BodyTooLarge ? 'answer too large' : `connection failed${e.cause?.code ? ` (${e.cause.code})` : ''}` };
    }
  }
}
