import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { LIB_FILES, SCRIPTS, scriptHeader } from '../../src/store/redis/lua.js';

/**
 * The Lua scripts are called by name (src/store/redis/lua.ts): the names a script's header
 * declares, in the header's order, must be the ones its TypeScript declaration lists.
 */
const SRC = new URL('../../src/store/redis/scripts/', import.meta.url);
const DIST = new URL('../../dist/store/redis/scripts/', import.meta.url);

describe('Lua scripts', () => {
  it.each(Object.entries(SCRIPTS))('%s: the header names its KEYS and ARGV as src/store/redis/lua.ts does', (_name, script) => {
    const header = scriptHeader(script.file);
    expect({ keys: header.keys, args: header.args, consts: header.consts }).toEqual({ keys: [...script.keys], args: [...script.args], consts: Object.keys(script.consts) });
    // Names are distinct: each becomes a Lua local.
    const names = [...header.keys, ...[...header.args, ...header.consts].map((a) => a.replace(/\[\]$/, ''))];
    expect(new Set(names).size).toBe(names.length);
  });

  it('every script file is declared (lib.lua and lib-events.lua are the shared preludes)', () => {
    const files = readdirSync(SRC).filter((f) => f.endsWith('.lua'));
    expect(files.sort()).toEqual([...Object.values(SCRIPTS).map((s) => `${s.file}.lua`), ...LIB_FILES].sort());
  });

  it('`npm run build` puts the same scripts next to the compiled code (the Docker image runs dist/)', () => {
    for (const f of readdirSync(SRC).filter((x) => x.endsWith('.lua'))) {
      expect([f, readFileSync(new URL(f, DIST), 'utf8')]).toEqual([f, readFileSync(new URL(f, SRC), 'utf8')]);
    }
  });

  it('refuses a call that leaves an argument out or passes a fractional number, before sending anything', async () => {
    const { runScript } = await import('../../src/store/redis/lua.js');
    const noClient = {} as never;
    expect(() => runScript(noClient, SCRIPTS.touchSession, { keys: { session: 'k' }, args: {} as never })).toThrow(new TypeError('touch-session: argument now missing'));
    expect(() => runScript(noClient, SCRIPTS.touchSession, { keys: { session: 'k' }, args: { now: 1.5 } })).toThrow(TypeError);
  });
});
