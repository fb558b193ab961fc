import { ConfigError, loadConfig } from '../../src/config/index.js';

/** The problems a configuration is refused with, by variable (`{}` when it is accepted). */
export function problemsOf(read: () => unknown): Record<string, string> {
  try {
    read();
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return {};
}

/** `problemsOf` for `loadConfig(env)`. */
export const problems = (env: Record<string, string>) => problemsOf(() => loadConfig(env));
