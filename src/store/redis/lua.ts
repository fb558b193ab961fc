import { readFileSync } from 'node:fs';
import type { RedisClient } from './client.js';
import { PROFILE_EVENT_SPEC } from './codec.js';

/**
 * The Lua scripts, one file each in ./scripts (`npm run build` copies them next to the
 * compiled code; Jest runs this file from src/, next to the originals). Each script's header
 * names its KEYS and ARGV:
 *
 *   -- KEYS: session grace index user
 *   -- ARGV: presentedHash nextHash graceBox now …
 *
 * and those names are all that the script body and its callers use. The loader binds each
 * name to its position in a preamble (`local session = KEYS[1]`, …), and `runScript` takes
 * `{ keys: { session, … }, args: { presentedHash, … } }` and puts each value where the header
 * says. `name[]` in ARGV is a list: sent as its length followed by its items, bound in Lua as
 * a table. So positions exist in one place only, the header; the TypeScript declaration below
 * must name the same keys and arguments in the same order (checked when a script is loaded,
 * and by test/store/lua-scripts.test.ts).
 *
 * Every script gets the shared local functions of scripts/lib.lua and scripts/lib-events.lua
 * (the account events' mirror of src/events/policy.ts). Scripts are registered with
 * ioredis' defineCommand: EVALSHA, and EVAL once per server after a NOSCRIPT. Every key a
 * script touches shares the `{uid}` hash tag of the keys it is given (src/store/keys.ts), so
 * each is valid on Redis Cluster; a script runs atomically, which is what makes each one a
 * race-free step across instances.
 */

export interface LuaScript<K extends string, A extends string> {
  /** File name in ./scripts, without `.lua`. */
  readonly file: string;
  readonly keys: readonly K[];
  readonly args: readonly A[];
  /** The header's CONSTS (`name[]`), by name: bound in the script's preamble, never sent. */
  readonly consts: Readonly<Record<string, readonly string[]>>;
}

function script<const K extends string, const A extends string>(
  file: string,
  keys: readonly K[],
  args: readonly A[],
  consts: Readonly<Record<string, readonly string[]>> = {},
): LuaScript<K, A> {
  return { file, keys, args, consts };
}

export const SCRIPTS = {
  writeSession: script(
    'write-session',
    ['user', 'session', 'index', 'identities', 'retired', 'events'],
    [
      'now',
      'sessionEnd',
      'sessionId',
      'mustExist',
      'maxSessions',
      'limitIntervalMs',
      'limitCapacityMs',
      'sessionPrefix',
      'gracePrefix',
      'provider',
      'subject',
      'profile[]',
      'profileFields[]',
      'names[]',
      'claims[]',
      'sessionFields[]',
      'userId',
      'eventId',
      'eventsRetentionMs',
    ],
    { 'profileEvent[]': PROFILE_EVENT_SPEC },
  ),
  rotateSession: script(
    'rotate-session',
    ['session', 'grace', 'index', 'user', 'events'],
    ['presentedHash', 'nextHash', 'graceBox', 'now', 'graceMs', 'refreshTtlMs', 'sessionId', 'limitIntervalMs', 'limitCapacityMs', 'userId', 'eventId', 'eventsRetentionMs'],
  ),
  endSessions: script(
    'end-sessions',
    ['user', 'index', 'identities', 'retired', 'events', 'tokens'],
    ['scope', 'sessionId', 'sessionPrefix', 'gracePrefix', 'reason', 'now', 'userId', 'eventId', 'eventsRetentionMs', 'retiredMs'],
  ),
  addIdentity: script('add-identity', ['user', 'identities', 'retired'], ['now', 'provider', 'subject', 'claims[]']),
  confirmIdentity: script('confirm-identity', ['user', 'identities'], ['provider', 'subject']),
  removeIdentity: script('remove-identity', ['user', 'identities', 'events', 'tokens'], ['provider', 'subject', 'keepLast', 'now', 'userId', 'eventId', 'eventsRetentionMs']),
  setIdentityField: script('set-identity-field', ['user', 'identities'], ['provider', 'subject', 'field', 'value']),
  retireAccount: script('retire-account', ['user', 'retired'], ['ttlMs']),
  touchSession: script('touch-session', ['session'], ['now']),
  appendEvents: script('append-events', ['events'], ['retentionMs', 'docs[]']),
  relayAck: script('relay-ack', ['outbox', 'lock'], ['token', 'lockMs', 'ids[]']),
  webhookClaim: script('webhook-claim', ['retry', 'pending'], ['now', 'leaseUntil', 'count']),
  webhookSettle: script('webhook-settle', ['retry', 'pending', 'failed'], ['eventId', 'lease', 'outcome', 'record', 'due']),
  webhookReplay: script('webhook-replay', ['retry', 'pending', 'failed'], ['now', 'records[]']),
  rateLimit: script('rate-limit', ['limit'], ['now', 'intervalMs', 'capacityMs', 'consume']),
  compareAndDelete: script('compare-and-delete', ['key'], ['expected']),
  compareAndSet: script('compare-and-set', ['key'], ['expected', 'value']),
  linkIdentity: script('link-identity', ['link', 'security'], ['candidate', 'issuedAt']),
  identitySecurity: script('identity-security', ['security'], ['kind', 'reason', 'at', 'keepMs']),
  eventClaim: script('event-claim', ['record'], ['lease', 'leaseMs']),
  eventSettle: script('event-settle', ['record'], ['lease', 'outcome', 'keepMs']),
  accountSecurity: script(
    'account-security',
    ['user', 'index', 'identities', 'record', 'events'],
    ['provider', 'subject', 'endSessions', 'lock', 'entry', 'keep', 'recordTtlMs', 'now', 'sessionPrefix', 'gracePrefix', 'userId', 'eventId', 'eventsRetentionMs'],
  ),
} as const;

type ArgName<A extends string> = A extends `${infer N}[]` ? N : A;
/** Times and counts are integers; a fraction is a caller's bug (TypeError), never sent. */
type ArgValue<A extends string> = A extends `${string}[]` ? readonly string[] : string | number;
export type ScriptCall<K extends string, A extends string> = {
  keys: Record<K, string>;
  args: { [P in A as ArgName<P>]: ArgValue<P> };
};

const SCRIPT_DIR = new URL('./scripts/', import.meta.url);
const NAME = /^[A-Za-z][A-Za-z0-9]*(\[\])?$/;

/** The names a script's header declares (CONSTS: none when the header has no such line). */
export function scriptHeader(file: string): { keys: string[]; args: string[]; consts: string[]; body: string } {
  const body = readFileSync(new URL(`${file}.lua`, SCRIPT_DIR), 'utf8');
  const line = (label: string, optional = false) => {
    const m = new RegExp(`^-- ${label}:(.*)$`, 'm').exec(body);
    if (!m && optional) return [];
    if (!m) throw new Error(`${file}.lua: no "-- ${label}:" header`);
    const names = m[1]!.trim().split(/\s+/).filter(Boolean);
    for (const n of names) if (!NAME.test(n)) throw new Error(`${file}.lua: bad name "${n}" in ${label}`);
    return names;
  };
  return { keys: line('KEYS'), args: line('ARGV'), consts: line('CONSTS', true), body };
}

/** The shared preludes, in this order (lib-events.lua uses lib.lua's `int` and `before`). */
export const LIB_FILES = ['lib.lua', 'lib-events.lua'] as const;
const LIB = (): string => LIB_FILES.map((f) => readFileSync(new URL(f, SCRIPT_DIR), 'utf8')).join('\n');

/** The script as sent to Redis: the name bindings, lib.lua, the body. */
function assemble(s: LuaScript<string, string>, lib: string): string {
  const header = scriptHeader(s.file);
  const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
  const consts = Object.keys(s.consts);
  if (!same(header.keys, s.keys) || !same(header.args, s.args) || !same(header.consts, consts)) {
    throw new Error(
      `${s.file}.lua: its header names (${header.keys} / ${header.args} / ${header.consts}) differ from src/store/redis/lua.ts (${s.keys} / ${s.args} / ${consts})`,
    );
  }
  const bind: string[] = [];
  if (s.keys.length > 0) bind.push(`local ${s.keys.join(', ')} = ${s.keys.map((_, i) => `KEYS[${i + 1}]`).join(', ')}`);
  bind.push('local __at = 0');
  bind.push('local function __arg() __at = __at + 1 return ARGV[__at] end');
  bind.push('local function __list() local t = {} for i = 1, tonumber(__arg()) do t[i] = __arg() end return t end');
  for (const a of s.args) bind.push(a.endsWith('[]') ? `local ${a.slice(0, -2)} = __list()` : `local ${a} = __arg()`);
  for (const [name, values] of Object.entries(s.consts)) bind.push(`local ${name.slice(0, -2)} = {${values.map((v) => luaString(s.file, v)).join(', ')}}`);
  return `${bind.join('\n')}\n${lib}\n${header.body}`;
}

/** A constant as a Lua string literal: plain ASCII names only, so no escaping can go wrong. */
function luaString(file: string, value: string): string {
  if (!/^[A-Za-z0-9_.-]*$/.test(value)) throw new Error(`${file}: constant "${value}" is not a plain name`);
  return `'${value}'`;
}

const commandName = (s: LuaScript<string, string>) => `ag_${s.file.replace(/-/g, '_')}`;

let assembled: Map<string, string> | null = null;

/** Registers every script on the client (idempotent). */
export function defineScripts(client: RedisClient): void {
  if (!assembled) {
    const lib = LIB();
    assembled = new Map(Object.values(SCRIPTS).map((s) => [s.file, assemble(s, lib)]));
  }
  const target = client as unknown as Record<string, unknown>;
  for (const s of Object.values(SCRIPTS)) {
    if (typeof target[commandName(s)] !== 'function') client.defineCommand(commandName(s), { numberOfKeys: s.keys.length, lua: assembled.get(s.file)! });
  }
}

/** Runs a script (registered by `defineScripts`) with its keys and arguments named; the reply as Redis sent it. */
export function runScript<K extends string, A extends string>(client: RedisClient, s: LuaScript<K, A>, call: ScriptCall<K, A>): Promise<unknown> {
  const argv: string[] = [];
  const args = call.args as Record<string, string | number | readonly string[]>;
  for (const a of s.args) {
    const value = args[a.endsWith('[]') ? a.slice(0, -2) : a];
    if (value === undefined) throw new TypeError(`${s.file}: argument ${a} missing`);
    if (Array.isArray(value)) argv.push(String(value.length), ...(value as string[]));
    else argv.push(scalar(s.file, a, value as string | number));
  }
  const keys = s.keys.map((k) => call.keys[k]);
  const command = (client as unknown as Record<string, (...a: string[]) => Promise<unknown>>)[commandName(s)];
  if (!command) throw new Error(`${s.file}: scripts not registered on this client (defineScripts)`);
  return command.call(client, ...keys, ...argv);
}

function scalar(file: string, name: string, value: string | number): string {
  if (typeof value === 'string') return value;
  if (!Number.isSafeInteger(value)) throw new TypeError(`${file}: ${name} must be an integer (epoch-milliseconds times and counts)`);
  return String(value);
}
