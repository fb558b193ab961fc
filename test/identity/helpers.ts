import { expect } from '@jest/globals';
import { AuthError, ServiceUnavailableError } from '../../src/errors.js';
import type { KeyResolver, KeySetLogger } from '../../src/identity/keys/index.js';
import type { VerifiedIdToken } from '../../src/identity/provider.js';
import { google } from '../../src/identity/providers/index.js';
import { IdTokenVerifier } from '../../src/identity/verifier.js';

/** Google's verifier as the gateway builds it (src/identity/verification.ts), from the options the Google tests vary. */
export function googleVerifier(o: {
  keys: KeyResolver;
  clientIds: readonly string[];
  hostedDomains?: readonly string[];
  now?: () => number;
  onUnexpectedError?: (err: unknown) => void;
}): IdTokenVerifier<{ hostedDomains: readonly string[] }> {
  return new IdTokenVerifier({ provider: google, keys: o.keys, audiences: o.clientIds, options: { hostedDomains: o.hostedDomains ?? [] }, now: o.now, onUnexpectedError: o.onUnexpectedError });
}

/** What a token `FakeGoogle.mint()` signs with its default claims verifies to (without exp/iat). */
export const ALICE: Omit<VerifiedIdToken, 'exp' | 'iat'> = Object.freeze({
  provider: 'google',
  sub: '110169484474386276334',
  email: 'alice@example.com',
  emailVerified: true,
  name: 'Alice Example',
  givenName: 'Alice',
  familyName: 'Example',
  picture: 'https://lh3.googleusercontent.com/a/alice',
  locale: 'en',
  hostedDomain: null,
  isPrivateEmail: false,
  realUserStatus: null,
});

export interface LogLine {
  level: 'warn' | 'info';
  fields: Record<string, unknown>;
  message: string;
}

export function captureLogger(): KeySetLogger & { lines: LogLine[]; text(): string } {
  const lines: LogLine[] = [];
  return {
    lines,
    warn: (fields, message) => lines.push({ level: 'warn', fields, message }),
    info: (fields, message) => lines.push({ level: 'info', fields, message }),
    text: () => JSON.stringify(lines),
  };
}

/** Awaits a rejection and checks it is the AuthError with `reason`. */
export async function expectAuthError(p: Promise<unknown>, reason: string): Promise<AuthError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AuthError);
  expect((err as AuthError).reason).toBe(reason);
  expect((err as AuthError).extensions.code).toBe('UNAUTHENTICATED');
  expect((err as AuthError).extensions.reason).toBe(reason);
  return err as AuthError;
}

export async function expectUnavailable(p: Promise<unknown>): Promise<ServiceUnavailableError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ServiceUnavailableError);
  expect((err as ServiceUnavailableError).reason).toBe('keys_unavailable');
  expect((err as ServiceUnavailableError).extensions.code).toBe('SERVICE_UNAVAILABLE');
  return err as ServiceUnavailableError;
}
