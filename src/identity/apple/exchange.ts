import { decodeJwt } from 'jose';
import { BadUserInputError } from '../../errors.js';
import type { AccountStore } from '../../store/types.js';
import type { AppleTokenApi } from './api.js';
import { sealToken } from './token-box.js';

/** How an authorization code's exchange ended (the `apple_code_exchanges_total` metric). */
export type ExchangeOutcome = 'stored' | 'failed' | 'identity_gone' | 'store_failed';

/** Longest authorization code accepted (Apple's are well under 100 characters). */
export const MAX_AUTHORIZATION_CODE_LENGTH = 1024;

/** An authorization code is a short opaque string; a longer one is refused (BAD_USER_INPUT) before any work. */
export function checkAuthorizationCode(code: string | null | undefined): void {
  if (typeof code === 'string' && code.length > MAX_AUTHORIZATION_CODE_LENGTH) throw new BadUserInputError(`authorizationCode is longer than ${MAX_AUTHORIZATION_CODE_LENGTH} characters.`);
}

export interface AppleCodeExchangeOptions {
  api: AppleTokenApi;
  accounts: Pick<AccountStore, 'setIdentityField'>;
  encryptionKey: Buffer;
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  count?: (outcome: ExchangeOutcome) => void;
}

export interface CodeGrant {
  userId: string;
  /** The Apple identity's `sub`. */
  subject: string;
  /** The verified identity token: its `aud` is the client id the code was issued to. */
  identityToken: string;
  authorizationCode: string;
}

/**
 * Exchanges the authorization code a sign-in or link brought (signInWithApple's or
 * linkIdentity's `authorizationCode`) for Apple's refresh token and keeps it, sealed, with the
 * account's Apple identity, so the account's deletion (or unlinking Apple) can revoke it, as App
 * Store Review Guideline 5.1.1(v) asks.
 *
 * Fire-and-forget, after the sign-in has answered: the exchange is a call to Apple (up to
 * APPLE_CALL_TIMEOUT_MS) that the person should not wait for, and its failure must not fail the
 * sign-in anyway; the code stays valid for five minutes, far longer than the exchange takes.
 * `settled()` is its flush hook (Gateway.settled()); a shutdown waits for exchanges in flight.
 *
 * The token is attached only while the account still lists this identity (setIdentityField); if
 * the account was deleted or Apple unlinked meanwhile, the token is revoked at once instead (one
 * attempt: nothing durable refers to it any more). No log line carries the code or the token.
 */
export class AppleCodeExchange {
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly o: AppleCodeExchangeOptions) {}

  /** Starts the exchange (not awaited: `settled`). */
  start(grant: CodeGrant): void {
    const p: Promise<void> = this.run(grant)
      .catch((err: unknown) => {
        this.o.count?.('store_failed');
        this.o.log.warn({ type: err instanceof Error ? err.name : typeof err }, 'keeping Apple’s refresh token failed (the sign-in is not affected)');
      })
      .finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  private async run({ userId, subject, identityToken, authorizationCode }: CodeGrant): Promise<void> {
    const clientId = audienceOf(identityToken);
    if (!clientId) return;
    const result = await this.o.api.exchange(clientId, authorizationCode);
    if (!result.ok) {
      this.o.count?.('failed');
      this.o.log.warn({ provider: 'apple', error: result.error }, 'exchanging an Apple authorization code failed (the sign-in is not affected; its token cannot be revoked later)');
      return;
    }
    const binding = { userId, provider: 'apple', subject };
    const sealed = sealToken(this.o.encryptionKey, result.refreshToken, clientId, binding);
    if (await this.o.accounts.setIdentityField(userId, 'apple', subject, 'rt', sealed)) {
      this.o.count?.('stored');
      return;
    }
    this.o.count?.('identity_gone');
    const revoked = await this.o.api.revoke(clientId, result.refreshToken);
    this.o.log.info({ provider: 'apple', revoked: revoked.ok, error: revoked.ok ? undefined : revoked.error }, 'the Apple identity went while its code was exchanged; its token was revoked at once');
  }
}

/** The verified identity token's audience (the client id the code belongs to). */
function audienceOf(identityToken: string): string | null {
  const aud = decodeJwt(identityToken).aud;
  const first = Array.isArray(aud) ? aud[0] : aud;
  return typeof first === 'string' && first.length > 0 ? first : null;
}
