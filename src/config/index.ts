import { customCleanEnv, EnvMissingError } from 'envalid';
import type { ReadContext, Section, Variable } from './section.js';
import { server } from './sections/server.js';
import { redis } from './sections/redis.js';
import { devIssuer } from './sections/dev-issuer.js';
import { google } from './sections/google.js';
import { apple } from './sections/apple.js';
import { risc } from './sections/risc.js';
import { tokens } from './sections/tokens.js';
import { sessions } from './sections/sessions.js';
import { signIn } from './sections/sign-in.js';
import { signingKeys } from './sections/signing-keys.js';
import { federation } from './sections/federation.js';
import { introspection } from './sections/introspection.js';
import { http } from './sections/http.js';
import { rateLimits } from './sections/rate-limits.js';
import { graphql } from './sections/graphql.js';
import { shutdown } from './sections/shutdown.js';
import { events } from './sections/events.js';
import { webhooks } from './sections/webhooks.js';

export type { RateLimitRule } from './rate-limit-rule.js';
export type { TrustProxy } from './trust-proxy.js';
export type { HostPort, RedisTopology } from './sections/redis.js';
export { DEV_APPLE_CLIENT_ID, DEV_CLIENT_ID } from './sections/dev-issuer.js';

/**
 * Environment → one typed, frozen config object. Each section (src/config/sections/) owns
 * its variables: parsing, defaults, bounds, cross-variable rules, the README's words for
 * them, and its part of `Config`. A bad value stops start-up with one message naming every
 * bad variable (ConfigError).
 *
 * A new section is a new file in sections/ and one line here. The order is the README
 * table's order and the reading order: a section that uses another's result
 * (`ctx.of(server)`) comes after it.
 */
export const SECTIONS = [server, redis, devIssuer, google, apple, tokens, sessions, signIn, signingKeys, federation, introspection, risc, http, rateLimits, graphql, shutdown, events, webhooks] as const;

type AnySection = Section<Record<string, Variable<unknown>>, object>;
type UnionToIntersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void ? I : never;

/** The gateway's configuration: every section's part, side by side (documented in each section's file). */
export type Config = Readonly<UnionToIntersection<ReturnType<(typeof SECTIONS)[number]['read']>>>;

export class ConfigError extends Error {
  constructor(readonly problems: Record<string, string>) {
    super(
      'Invalid configuration:\n' +
        Object.entries(problems)
          .map(([k, v]) => `  ${k}: ${v}`)
          .join('\n'),
    );
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return readSections(SECTIONS as readonly AnySection[], env) as Config;
}

/** For the operator commands: the config, or null once the problem is written to `err` as `<command>: …`. */
export function loadConfigForCli(command: string, env: NodeJS.ProcessEnv, err: { write(s: string): unknown }): Config | null {
  try {
    return loadConfig(env);
  } catch (e) {
    err.write(`${command}: ${e instanceof ConfigError ? e.message : String(e)}\n`);
    return null;
  }
}

/**
 * Reads every section in order. Rules run even when some variable was bad, so one message
 * names them all; the config is built only to be thrown away in that case.
 */
export function readSections(sections: readonly AnySection[], env: NodeJS.ProcessEnv): object {
  const problems: Record<string, string> = {};
  const results = new Map<AnySection, object>();
  const config: Record<string, unknown> = {};
  for (const section of sections) {
    const specs = Object.fromEntries(Object.entries(section.variables).map(([name, v]) => [name, v.spec]));
    const values: Record<string, unknown> = {
      ...customCleanEnv(env, specs, (cleaned) => cleaned, {
        reporter: ({ errors }) => {
          for (const [name, err] of Object.entries(errors)) problems[name] ??= err instanceof EnvMissingError ? 'is required' : ((err as Error | undefined)?.message ?? 'is invalid');
        },
      }),
    };
    for (const [name, v] of Object.entries(section.variables)) if (name in problems) values[name] = v.fallback;
    const ctx: ReadContext<string> = {
      of: <Out>(earlier: Section<Record<string, Variable<unknown>>, Out>) => {
        const out = results.get(earlier as AnySection);
        if (!out) throw new Error(`config section "${section.title}" reads "${earlier.title}", which must come before it in SECTIONS`);
        return out as Out;
      },
      problem: (name, message) => {
        problems[name] ??= message;
      },
      valid: (name) => !(name in problems),
    };
    const out = section.read(values as never, ctx);
    for (const key of Object.keys(out)) if (key in config) throw new Error(`config sections both set "${key}"`);
    Object.assign(config, out);
    results.set(section, out);
  }
  if (Object.keys(problems).length > 0) throw new ConfigError(problems);
  return Object.freeze(config);
}
