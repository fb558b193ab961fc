import type { JWTPayload } from 'jose';
import type { Config } from '../config/index.js';
import type { AccountProfile } from '../store/types.js';

/**
 * An OpenID Connect identity provider, as data plus a claim mapper. One verifier
 * (src/identity/verifier.ts), one key cache (src/identity/keys) and one list of rejection
 * reasons serve every provider; what differs is written here, once per provider, in
 * src/identity/providers/<name>.ts. Adding a provider is one such file, its config section
 * (src/config/sections/) and one entry in PROVIDERS (src/identity/providers/index.ts).
 */
export interface OidcProvider<Options = unknown> {
  /**
   * Short name, `[a-z][a-z0-9-]*`, chosen by code: part of Redis keys (`idn:<name>:<sub>`,
   * `jwks:<name>`, `ids:{uid}` fields), of the metrics' `provider` label, and (upper-cased) the
   * GraphQL `IdentityProvider` value.
   */
  readonly name: string;
  /** How log lines and messages name it ("Google"). */
  readonly displayName: string;
  /** Accepted `iss` values, compared exactly. */
  readonly issuers: readonly string[];
  /** The provider's part of the configuration; null when it is off (no accepted audience). */
  settings(config: Config): ProviderSettings<Options> | null;
  /**
   * The provider's claims, already verified (signature, issuer, audience, times, `sub`), mapped
   * to ours. Throws AuthError for a claim its rules refuse (Google's `hd` allow-list, Apple's
   * booleans). Informational claims of an odd type read as absent, never as a refusal.
   */
  claims(payload: JWTPayload, options: Options): ProviderClaims;
  /**
   * The account profile fields a sign-in with this provider writes (replacing what is stored;
   * null clears). The other fields stay as they are: a provider that knows nothing of a
   * picture does not erase the one another provider reported.
   */
  profileFields(token: ProviderClaims): readonly (keyof AccountProfile)[];
}

export interface ProviderSettings<Options> {
  /** Accepted `aud` values (client ids); at least one. */
  readonly audiences: readonly string[];
  readonly jwksUri: string;
  readonly options: Options;
}

/** What an identity says about itself: kept with the identity (src/store/types.ts IdentityRecord). */
export interface IdentityClaims {
  email: string | null;
  /** Only ever true with an email. */
  emailVerified: boolean;
  /** An address that relays to the person's own (Apple's private relay); false where the provider has none. */
  isPrivateEmail: boolean;
  /** Apple's `real_user_status`: 0 unsupported, 1 unknown, 2 likely real; null elsewhere. */
  realUserStatus: number | null;
}

/** Profile claims a provider may report besides the email (null: absent or of an odd type); `hostedDomain` is Google's `hd`. */
export type ProfileClaims = Omit<AccountProfile, 'email' | 'emailVerified'>;

export type ProviderClaims = IdentityClaims & ProfileClaims;

/** A verified ID token: who it names, and what it says. */
export interface VerifiedIdToken extends ProviderClaims {
  /** The provider's `name`. */
  provider: string;
  sub: string;
  /** Seconds since the epoch, as in the token. */
  exp: number;
  iat: number;
}

/** A non-empty string, or null (informational claims of another type read as absent). */
export function text(value: unknown): string | null {
  return typeof value === 'string' && value.length > 0 ? value : null;
}

/** Profile claims a provider does not report. */
export const NO_PROFILE: ProfileClaims = Object.freeze({ name: null, givenName: null, familyName: null, picture: null, locale: null, hostedDomain: null });

/** A provider descriptor, frozen (with inference of its options' type). */
export function defineProvider<Options>(provider: OidcProvider<Options>): OidcProvider<Options> {
  return Object.freeze(provider);
}

/** Providers' names become keys and labels: checked when a descriptor is registered. */
export const PROVIDER_NAME = /^[a-z][a-z0-9-]{0,31}$/;
