import { GraphQLError } from 'graphql';

/**
 * Every error a client can receive, in one place. Resolvers throw these; `formatError`
 * (src/graphql/format-error.ts) passes them through and masks everything else.
 * The codes and reasons are a public contract: they are listed in the README.
 */
export const ErrorCode = {
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  RATE_LIMITED: 'RATE_LIMITED',
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  // Identity providers and an account's identities (AccountError)
  PROVIDER_NOT_CONFIGURED: 'PROVIDER_NOT_CONFIGURED',
  IDENTITY_ALREADY_LINKED: 'IDENTITY_ALREADY_LINKED',
  PROVIDER_ALREADY_LINKED: 'PROVIDER_ALREADY_LINKED',
  LAST_IDENTITY: 'LAST_IDENTITY',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Closed list of `extensions.reason` values for UNAUTHENTICATED. */
export const AuthReason = {
  // ID token (any identity provider)
  TOO_LARGE: 'too_large',
  MALFORMED: 'malformed',
  UNSUPPORTED_ALGORITHM: 'unsupported_algorithm',
  UNKNOWN_KEY: 'unknown_key',
  BAD_SIGNATURE: 'bad_signature',
  WRONG_ISSUER: 'wrong_issuer',
  WRONG_AUDIENCE: 'wrong_audience',
  UNTRUSTED_AUDIENCE: 'untrusted_audience',
  EXPIRED: 'expired',
  ISSUED_IN_FUTURE: 'issued_in_future',
  LIFETIME_TOO_LONG: 'lifetime_too_long',
  MISSING_CLAIM: 'missing_claim',
  HOSTED_DOMAIN_NOT_ALLOWED: 'hosted_domain_not_allowed',
  NONCE_MISMATCH: 'nonce_mismatch',
  // Sign-in policy (server-issued nonces, single-use ID tokens, disabled accounts)
  NONCE_REQUIRED: 'nonce_required',
  INVALID_NONCE: 'invalid_nonce',
  REPLAYED: 'replayed',
  ACCOUNT_DISABLED: 'account_disabled',
  // The identity provider's security events (Google Cross-Account Protection, src/risc/)
  GOOGLE_ACCOUNT_DISABLED: 'google_account_disabled',
  SIGN_IN_REVOKED: 'sign_in_revoked',
  // Our access token / session
  INVALID_TOKEN: 'invalid_token',
  TOKEN_EXPIRED: 'token_expired',
  SESSION_REVOKED: 'session_revoked',
  SESSION_EXPIRED: 'session_expired',
  ACCOUNT_NOT_FOUND: 'account_not_found',
  // Refresh token
  INVALID_REFRESH_TOKEN: 'invalid_refresh_token',
  REFRESH_TOKEN_REUSED: 'refresh_token_reused',
  // Anonymous caller on a field that needs a session
  AUTHENTICATION_REQUIRED: 'authentication_required',
} as const;
export type AuthReason = (typeof AuthReason)[keyof typeof AuthReason];

/** Reasons for SERVICE_UNAVAILABLE. */
export const UnavailableReason = {
  KEYS_UNAVAILABLE: 'keys_unavailable',
  STORE_UNAVAILABLE: 'store_unavailable',
} as const;
export type UnavailableReason = (typeof UnavailableReason)[keyof typeof UnavailableReason];

const MESSAGES: Record<AuthReason, string> = {
  too_large: 'The token is too large.',
  malformed: 'The token is not a well-formed JWT.',
  unsupported_algorithm: 'The token is signed with an algorithm that is not accepted.',
  unknown_key: 'The token is signed with an unknown key.',
  bad_signature: 'The token signature is invalid.',
  wrong_issuer: 'The token was not issued by the identity provider.',
  wrong_audience: 'The token was issued for another application.',
  untrusted_audience: 'The token lists an audience this service does not trust.',
  expired: 'The token has expired.',
  issued_in_future: 'The token was issued in the future.',
  lifetime_too_long: 'The token lifetime is too long.',
  missing_claim: 'The token lacks a required claim.',
  hosted_domain_not_allowed: 'The account does not belong to an allowed domain.',
  nonce_mismatch: 'The token nonce does not match.',
  nonce_required: 'Sign-in needs a nonce from createSignInNonce.',
  invalid_nonce: 'The sign-in nonce is unknown, expired or already used.',
  replayed: 'This ID token was already used to sign in.',
  account_disabled: 'The account is disabled.',
  google_account_disabled: 'Google has disabled this Google account; sign in another way.',
  sign_in_revoked: 'Google revoked the sessions of this account after this token was issued; sign in again.',
  invalid_token: 'The access token is invalid.',
  token_expired: 'The access token has expired.',
  session_revoked: 'The session has ended.',
  session_expired: 'The session has expired.',
  account_not_found: 'The account no longer exists.',
  invalid_refresh_token: 'The refresh token is invalid.',
  refresh_token_reused: 'The refresh token was already used; the session has been revoked.',
  authentication_required: 'Sign in first.',
};

/** A typed, expected rejection. Never carries the token or any part of it. */
export class AuthError extends GraphQLError {
  readonly reason: AuthReason;
  constructor(reason: AuthReason, message: string = MESSAGES[reason]) {
    super(message, { extensions: { code: ErrorCode.UNAUTHENTICATED, reason } });
    this.name = 'AuthError';
    this.reason = reason;
  }
}

export class ServiceUnavailableError extends GraphQLError {
  readonly reason: UnavailableReason;
  constructor(reason: UnavailableReason, message = 'The service is temporarily unavailable; try again shortly.') {
    super(message, { extensions: { code: ErrorCode.SERVICE_UNAVAILABLE, reason } });
    this.name = 'ServiceUnavailableError';
    this.reason = reason;
  }
}

export class BadUserInputError extends GraphQLError {
  constructor(message: string) {
    super(message, { extensions: { code: ErrorCode.BAD_USER_INPUT } });
    this.name = 'BadUserInputError';
  }
}

export class RateLimitedError extends GraphQLError {
  constructor(readonly retryAfter: number, message = 'Too many requests; retry later.') {
    super(message, { extensions: { code: ErrorCode.RATE_LIMITED, retryAfter } });
    this.name = 'RateLimitedError';
  }
}

/** The codes of AccountError: a request about identity providers or identities that cannot be done as asked. */
export type AccountErrorCode = 'PROVIDER_NOT_CONFIGURED' | 'IDENTITY_ALREADY_LINKED' | 'PROVIDER_ALREADY_LINKED' | 'LAST_IDENTITY';

const ACCOUNT_MESSAGES: Record<AccountErrorCode, string> = {
  PROVIDER_NOT_CONFIGURED: 'This identity provider is not configured on this server.',
  IDENTITY_ALREADY_LINKED: 'This identity belongs to another account.',
  PROVIDER_ALREADY_LINKED: 'The account already has an identity of this provider; unlink it first.',
  LAST_IDENTITY: "An account's last identity cannot be unlinked (delete the account instead).",
};

/** Nothing changed: the provider is off, the identity is another account's, or it is the account's last one. */
export class AccountError extends GraphQLError {
  constructor(
    readonly code: AccountErrorCode,
    message: string = ACCOUNT_MESSAGES[code],
  ) {
    super(message, { extensions: { code } });
    this.name = 'AccountError';
  }
}

export class ForbiddenError extends GraphQLError {
  constructor(message = 'Not allowed.') {
    super(message, { extensions: { code: ErrorCode.FORBIDDEN } });
    this.name = 'ForbiddenError';
  }
}

/** True for errors that are part of the public contract (passed to the client as they are). */
export function isPublicError(err: unknown): err is GraphQLError {
  return (
    err instanceof AuthError ||
    err instanceof ServiceUnavailableError ||
    err instanceof BadUserInputError ||
    err instanceof RateLimitedError ||
    err instanceof ForbiddenError ||
    err instanceof AccountError
  );
}

/**
 * Awaits a store call and maps its failure: anything that is not already a public error
 * (connection refused, command timeout, Redis restarting…) becomes SERVICE_UNAVAILABLE, logged
 * once here with its cause. Requests therefore fail closed and clearly instead of surfacing as
 * INTERNAL_SERVER_ERROR.
 */
export async function storeCall<T>(
  work: Promise<T>,
  log?: { error(obj: object, msg: string): void },
  message = 'store call failed',
): Promise<T> {
  try {
    return await work;
  } catch (err) {
    throw storeFailure(err, log, message);
  }
}

/** What `storeCall` throws for a failed store call (for hot paths that catch it themselves). */
export function storeFailure(err: unknown, log?: { error(obj: object, msg: string): void }, message = 'store call failed'): unknown {
  if (err instanceof GraphQLError) return err;
  log?.error({ err }, message);
  return new ServiceUnavailableError('store_unavailable');
}
