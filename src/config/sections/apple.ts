import { createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { KEY_SET_URL_ACCEPTS, keySetUrlProblem } from '../key-set-url.js';
import { defineSection } from '../section.js';
import { list, text } from '../variables.js';
import { DEV_APPLE_CLIENT_ID, devIssuer } from './dev-issuer.js';
import { redis } from './redis.js';

export const APPLE_JWKS_URI_DEFAULT = 'https://appleid.apple.com/auth/keys';
export const APPLE_TOKEN_URL_DEFAULT = 'https://appleid.apple.com/auth/token';
export const APPLE_REVOKE_URL_DEFAULT = 'https://appleid.apple.com/auth/revoke';

export interface AppleConfig {
  readonly apple: {
    /** Accepted `aud` values of Apple identity tokens; empty: Sign in with Apple is off. */
    readonly clientIds: readonly string[];
    readonly jwksUri: string;
  };
  /**
   * The developer account's key for Apple's token endpoints (src/identity/apple/): with it, an
   * authorization code is exchanged for Apple's refresh token, kept encrypted, and revoked when
   * the account or its Apple identity goes. Null without APPLE_TEAM_ID / APPLE_KEY_ID / the key.
   */
  readonly appleTokens: AppleTokensConfig | null;
}

export interface AppleTokensConfig {
  readonly teamId: string;
  readonly keyId: string;
  /** The `.p8` key (ES256, P-256), parsed at start-up. Never logged, never in an error. */
  readonly privateKey: KeyObject;
  readonly tokenUrl: string;
  readonly revokeUrl: string;
  /** AES-256 key sealing Apple's refresh tokens at rest (APPLE_TOKEN_ENCRYPTION_KEY). */
  readonly encryptionKey: Buffer;
}

/** Apple's Team ID and Key ID: ten upper-case letters or digits. */
const APPLE_ID = /^[A-Z0-9]{10}$/;
/** The base64 of exactly 32 bytes. */
const AES_KEY = /^[A-Za-z0-9+/]{43}=$/;

/**
 * Sign in with Apple. Off unless APPLE_CLIENT_IDS is set (then `signInWithApple` answers
 * PROVIDER_NOT_CONFIGURED and nothing else changes); in development with the development
 * issuer on, it is on for the issuer's Apple audience, like Google.
 *
 * The token endpoints (code exchange, revocation) need the developer account's key: all of
 * APPLE_TEAM_ID, APPLE_KEY_ID and APPLE_PRIVATE_KEY (or _FILE), or none of them.
 */
export const apple = defineSection({
  title: 'Sign in with Apple',
  variables: {
    APPLE_CLIENT_IDS: list(
      'the ids accepted as the identity token’s `aud`: the app’s bundle id for sign-in in a native iOS app, the Services ID for web and Android flows',
      {
        shownDefault: `unset: Sign in with Apple is off; in development \`${DEV_APPLE_CLIENT_ID}\` (the development issuer’s audience; none when \`DEV_ISSUER=false\`)`,
      },
    ),
    APPLE_JWKS_URI: text('Apple’s key set', { default: APPLE_JWKS_URI_DEFAULT, accepts: KEY_SET_URL_ACCEPTS }),
    APPLE_TEAM_ID: text('the developer account’s Team ID (`iss` of the `client_secret` JWT sent to Apple’s token endpoints)', {
      unsetMeans: 'authorization codes are not exchanged and nothing is revoked at Apple',
      accepts: '10 upper-case letters or digits; with `APPLE_KEY_ID` and a private key (all three or none); needs Redis and `APPLE_CLIENT_IDS`',
    }),
    APPLE_KEY_ID: text('the Key ID of the Sign in with Apple key (`kid` of the `client_secret` JWT)', {
      accepts: '10 upper-case letters or digits; with `APPLE_TEAM_ID`',
    }),
    APPLE_PRIVATE_KEY: text('that key: the `.p8` file’s contents (PEM, `-----BEGIN PRIVATE KEY-----`…); never logged', {
      accepts: 'an EC P-256 PKCS #8 PEM (`\\n` may stand for line breaks); not with `APPLE_PRIVATE_KEY_FILE`',
    }),
    APPLE_PRIVATE_KEY_FILE: text('a path to the `.p8` file instead of `APPLE_PRIVATE_KEY`', { accepts: 'a readable file path; not with `APPLE_PRIVATE_KEY`' }),
    APPLE_TOKEN_ENCRYPTION_KEY: text(
      'the AES-256-GCM key that seals Apple’s refresh tokens in Redis (each bound to its account and identity); changing it strands the tokens sealed before (they are then dropped, never revoked)',
      { accepts: 'the base64 of 32 random bytes (`openssl rand -base64 32`); required with `APPLE_TEAM_ID`' },
    ),
    APPLE_TOKEN_URL: text('Apple’s token endpoint (authorization code exchange)', { default: APPLE_TOKEN_URL_DEFAULT, accepts: KEY_SET_URL_ACCEPTS }),
    APPLE_REVOKE_URL: text('Apple’s token revocation endpoint', { default: APPLE_REVOKE_URL_DEFAULT, accepts: KEY_SET_URL_ACCEPTS }),
  },
  read(v, ctx): AppleConfig {
    for (const name of ['APPLE_JWKS_URI', 'APPLE_TOKEN_URL', 'APPLE_REVOKE_URL'] as const) {
      const problem = keySetUrlProblem(v[name]);
      if (problem) ctx.problem(name, problem);
    }
    const devAudience = ctx.of(devIssuer).devIssuer.enabled ? [DEV_APPLE_CLIENT_ID] : [];
    const clientIds = v.APPLE_CLIENT_IDS.length > 0 ? v.APPLE_CLIENT_IDS : devAudience;
    const appleTokens = readTokens(v, ctx, ctx.of(redis).redis.topology !== null);
    // A key for a provider that is off would do nothing: say so rather than ignore it.
    if (appleTokens && clientIds.length === 0) ctx.problem('APPLE_TEAM_ID', 'is set while Sign in with Apple is off: set APPLE_CLIENT_IDS too');
    return { apple: { clientIds, jwksUri: v.APPLE_JWKS_URI }, appleTokens };
  },
});

type TokenVars = 'APPLE_TEAM_ID' | 'APPLE_KEY_ID' | 'APPLE_PRIVATE_KEY' | 'APPLE_PRIVATE_KEY_FILE' | 'APPLE_TOKEN_ENCRYPTION_KEY' | 'APPLE_TOKEN_URL' | 'APPLE_REVOKE_URL';

function readTokens(
  v: Record<TokenVars, string>,
  ctx: { problem(name: TokenVars, message: string): void },
  hasRedis: boolean,
): AppleTokensConfig | null {
  const given = { APPLE_TEAM_ID: !!v.APPLE_TEAM_ID, APPLE_KEY_ID: !!v.APPLE_KEY_ID, APPLE_PRIVATE_KEY: !!(v.APPLE_PRIVATE_KEY || v.APPLE_PRIVATE_KEY_FILE) };
  const set = Object.values(given).filter(Boolean).length;
  if (set === 0) {
    if (v.APPLE_TOKEN_ENCRYPTION_KEY) ctx.problem('APPLE_TOKEN_ENCRYPTION_KEY', 'is used only with APPLE_TEAM_ID, APPLE_KEY_ID and APPLE_PRIVATE_KEY');
    return null;
  }
  let ok = true;
  const refuse = (name: TokenVars, message: string) => {
    ok = false;
    ctx.problem(name, message);
  };
  if (set < 3) {
    const missing = (Object.keys(given) as (keyof typeof given)[]).filter((k) => !given[k]);
    for (const name of missing) refuse(name, 'APPLE_TEAM_ID, APPLE_KEY_ID and APPLE_PRIVATE_KEY (or APPLE_PRIVATE_KEY_FILE) go together: set all three or none');
    return null;
  }
  if (!APPLE_ID.test(v.APPLE_TEAM_ID)) refuse('APPLE_TEAM_ID', 'must be the 10-character Team ID (upper-case letters and digits)');
  if (!APPLE_ID.test(v.APPLE_KEY_ID)) refuse('APPLE_KEY_ID', 'must be the 10-character Key ID (upper-case letters and digits)');
  if (!hasRedis) refuse('APPLE_TEAM_ID', 'needs Redis (REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES): the tokens and their revocations are kept there');
  if (!AES_KEY.test(v.APPLE_TOKEN_ENCRYPTION_KEY)) {
    // Never echo the value: the message names the form only.
    refuse('APPLE_TOKEN_ENCRYPTION_KEY', v.APPLE_TOKEN_ENCRYPTION_KEY ? 'must be the base64 of 32 random bytes (`openssl rand -base64 32`)' : 'is required with APPLE_TEAM_ID (`openssl rand -base64 32`)');
  }
  const privateKey = readPrivateKey(v, refuse);
  if (!ok || !privateKey) return null;
  return {
    teamId: v.APPLE_TEAM_ID,
    keyId: v.APPLE_KEY_ID,
    privateKey,
    tokenUrl: v.APPLE_TOKEN_URL,
    revokeUrl: v.APPLE_REVOKE_URL,
    encryptionKey: Buffer.from(v.APPLE_TOKEN_ENCRYPTION_KEY, 'base64'),
  };
}

/**
 * The `.p8` key, parsed now so a bad key stops start-up instead of the first exchange. The
 * messages never quote the key (node's parse errors do not either, but are not relied on).
 */
function readPrivateKey(v: Record<TokenVars, string>, refuse: (name: TokenVars, message: string) => void): KeyObject | null {
  if (v.APPLE_PRIVATE_KEY && v.APPLE_PRIVATE_KEY_FILE) {
    refuse('APPLE_PRIVATE_KEY_FILE', 'set APPLE_PRIVATE_KEY or APPLE_PRIVATE_KEY_FILE, not both');
    return null;
  }
  const name = v.APPLE_PRIVATE_KEY ? 'APPLE_PRIVATE_KEY' : 'APPLE_PRIVATE_KEY_FILE';
  let pem: string;
  if (v.APPLE_PRIVATE_KEY) {
    // Environment files often carry a PEM on one line with `\n` escapes.
    pem = v.APPLE_PRIVATE_KEY.replaceAll('\\n', '\n');
  } else {
    try {
      pem = readFileSync(v.APPLE_PRIVATE_KEY_FILE, 'utf8');
    } catch (e) {
      refuse(name, `cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
      return null;
    }
  }
  try {
    const key = createPrivateKey({ key: pem, format: 'pem' });
    if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return key;
  } catch {
    // Falls through: the message below, without the parser's words.
  }
  refuse(name, 'is not an EC P-256 private key in PEM (the .p8 file from the Apple developer account)');
  return null;
}
