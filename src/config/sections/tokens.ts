import { defineSection } from '../section.js';
import { duration, text } from '../variables.js';
import { server } from './server.js';

export interface TokensConfig {
  readonly tokens: {
    /** Access token lifetime, ms. */
    readonly accessTtlMs: number;
    /** Refresh token lifetime (also the session's inactivity timeout: it slides on every refresh), ms. */
    readonly refreshTtlMs: number;
    /** Absolute session lifetime, ms: no refresh extends a session past it. */
    readonly sessionMaxLifetimeMs: number;
    /** How long a rotated refresh token may be presented again (a response lost on a mobile network). */
    readonly refreshGraceMs: number;
    /** `iss` of our access tokens (and of the OpenID discovery document). Every instance must agree. */
    readonly issuer: string;
    readonly audience: string;
  };
}

export const tokens = defineSection({
  title: 'Tokens',
  variables: {
    ACCESS_TOKEN_TTL: duration('access token lifetime', '15m', { min: '10s' }),
    REFRESH_TOKEN_TTL: duration('refresh token lifetime; also the session’s inactivity timeout, since each refresh extends it', '30d', {
      also: ['at least `ACCESS_TOKEN_TTL`'],
    }),
    SESSION_MAX_LIFETIME: duration('absolute session lifetime: no refresh extends a session past it', '90d', { also: ['at least `ACCESS_TOKEN_TTL`'] }),
    REFRESH_GRACE_PERIOD: duration('how long a spent refresh token may be presented again and receive the same successor', '10s', { max: '10s' }),
    AUTH_ISSUER: text(
      '`iss` of our access tokens, also announced by `/.well-known/openid-configuration`: the gateway’s public URL (`https://auth.example.com`), the same on every instance (instances that disagree refuse each other’s access tokens)',
      { accepts: 'text; discovery is served only when it is an `http(s)` URL without query or fragment', shownDefault: 'required in production; in development `http://localhost:<PORT>`' },
    ),
    AUTH_AUDIENCE: text('`aud` of our access tokens', { default: 'graphql-auth-gateway' }),
  },
  read(v, ctx): TokensConfig {
    const { production, port } = ctx.of(server);
    // A per-instance default (it names the port) would split one deployment into several
    // issuers that reject each other's tokens, and tell token verifiers a loopback address.
    if (production && !v.AUTH_ISSUER) {
      ctx.problem('AUTH_ISSUER', 'is required when NODE_ENV=production (the public URL every instance puts in `iss` and announces in discovery, e.g. https://auth.example.com)');
    }
    if (ctx.valid('ACCESS_TOKEN_TTL') && ctx.valid('REFRESH_TOKEN_TTL') && v.REFRESH_TOKEN_TTL < v.ACCESS_TOKEN_TTL) ctx.problem('REFRESH_TOKEN_TTL', 'must be at least ACCESS_TOKEN_TTL');
    if (ctx.valid('ACCESS_TOKEN_TTL') && ctx.valid('SESSION_MAX_LIFETIME') && v.SESSION_MAX_LIFETIME < v.ACCESS_TOKEN_TTL) {
      ctx.problem('SESSION_MAX_LIFETIME', 'must be at least ACCESS_TOKEN_TTL');
    }
    return {
      tokens: {
        accessTtlMs: v.ACCESS_TOKEN_TTL,
        refreshTtlMs: v.REFRESH_TOKEN_TTL,
        sessionMaxLifetimeMs: v.SESSION_MAX_LIFETIME,
        refreshGraceMs: v.REFRESH_GRACE_PERIOD,
        issuer: v.AUTH_ISSUER || `http://localhost:${port}`,
        audience: v.AUTH_AUDIENCE,
      },
    };
  },
});
