import { describe, expect, it } from '@jest/globals';
import { loadConfig } from '../../src/config/index.js';

describe('INTROSPECTION_SECRETS', () => {
  const a = 'A'.repeat(32);
  const b = 'b+/-._~9'.repeat(5) + '==';

  it('is a comma-separated list of secrets, trimmed and without repeats; unset: none', () => {
    expect(loadConfig({}).introspection.secrets).toEqual([]);
    expect(loadConfig({ INTROSPECTION_SECRETS: ` ${a} , ${b},${a}` }).introspection.secrets).toEqual([a, b]);
  });

  it('refuses a secret under 32 characters, or one a Bearer credential cannot carry', () => {
    expect(() => loadConfig({ INTROSPECTION_SECRETS: `${a},short` })).toThrow(/INTROSPECTION_SECRETS: each secret must be at least 32 characters/);
    for (const bad of [`${a} space`, `${a}=x`, `${a}"`, `${a}é`]) {
      expect(() => loadConfig({ INTROSPECTION_SECRETS: bad })).toThrow(/INTROSPECTION_SECRETS: a secret holds a character a Bearer credential cannot carry/);
    }
  });
});
