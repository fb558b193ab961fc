import { bool, makeValidator, port as envalidPort, str, EnvError } from 'envalid';
import { formatDuration, parseDuration } from './duration.js';
import type { Variable } from './section.js';

/**
 * Variable builders for the sections. Each takes the default as the operator would write it
 * (`'15m'`, `'30/1m'`): the same text is parsed for the default and shown in the README, and
 * a bound is stated once, as a number the validator checks and a phrase the README prints.
 */

interface Documented {
  /** Further rules on the value, checked in the section's `read` (`at least ACCESS_TOKEN_TTL`). */
  also?: readonly string[];
}

const code = (s: string) => `\`${s}\``;

/** Wraps a parser that throws plain Errors into an envalid validator (EnvError is what envalid reports). */
function validator<T>(parse: (input: string) => T) {
  return makeValidator<T>((input) => {
    try {
      return parse(input);
    } catch (e) {
      throw new EnvError((e as Error).message);
    }
  });
}

function make<T>(spec: Variable<T>['spec'], doc: string, fallback: T, shownDefault: string, accepts: string, also: readonly string[] = []): Variable<T> {
  return Object.freeze({ spec, doc, accepts: [accepts, ...also].join('; '), shownDefault, fallback });
}

const unset = (means: string | undefined) => (means ? `unset: ${means}` : 'unset');

/**
 * A string; unset is `''` (shown as `unset`, or `unset: <unsetMeans>`) unless `default` is
 * given. `shownDefault` replaces the default column where the default is computed in `read`.
 */
export function text(
  doc: string,
  opts: Documented & { default?: string; unsetMeans?: string; shownDefault?: string; choices?: readonly string[]; accepts?: string } = {},
): Variable<string> {
  const fallback = opts.default ?? '';
  const accepts = opts.choices ? `one of ${opts.choices.map(code).join(' ')}` : (opts.accepts ?? 'text');
  const shown = opts.shownDefault ?? (fallback ? code(fallback) : unset(opts.unsetMeans));
  return make(str({ default: fallback, choices: opts.choices }), doc, fallback, shown, accepts, opts.also);
}

export function flag(doc: string, fallback: boolean): Variable<boolean> {
  return make(bool({ default: fallback }), doc, fallback, code(String(fallback)), '`true` or `false`');
}

export function port(doc: string, fallback: number): Variable<number> {
  return make(envalidPort({ default: fallback }), doc, fallback, code(String(fallback)), 'a port, 1–65,535');
}

/** Comma-separated items, trimmed, empty ones dropped; unset is `[]`. */
export function list(doc: string, opts: Documented & { unsetMeans?: string; shownDefault?: string } = {}): Variable<readonly string[]> {
  const parse = (input: string) =>
    input
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
  return make(validator(parse)({ default: [] }), doc, [], opts.shownDefault ?? unset(opts.unsetMeans), 'a comma-separated list', opts.also);
}

/**
 * A duration (src/config/duration.ts) in milliseconds, optionally bounded; `why` explains a
 * bound to the operator. The default is a duration string, or milliseconds (a constant of the
 * module the value governs).
 */
export function duration(doc: string, fallbackInput: string | number, opts: Documented & { min?: string; max?: string; why?: string } = {}): Variable<number> {
  const min = opts.min === undefined ? undefined : parseDuration(opts.min);
  const max = opts.max === undefined ? undefined : parseDuration(opts.max);
  const because = opts.why ? ` (${opts.why})` : '';
  const parse = (input: string) => {
    const ms = parseDuration(input);
    if (min !== undefined && ms < min) throw new Error(`must be at least ${opts.min}${because}`);
    if (max !== undefined && ms > max) throw new Error(`must be at most ${opts.max}${because}`);
    return ms;
  };
  const fallback = typeof fallbackInput === 'number' ? formatDuration(fallbackInput) : fallbackInput;
  const accepts = ['a duration', opts.min && `at least ${opts.min}`, opts.max && `at most ${opts.max}`].filter(Boolean).join(', ');
  return make(validator(parse)({ default: parse(fallback) }), doc, parse(fallback), code(fallback), accepts, opts.also);
}

/** A whole number from `min` to `max`. */
export function integer(doc: string, fallback: number, bounds: { min: number; max: number }): Variable<number> {
  const parse = (input: string) => {
    const n = /^\s*\d{1,9}\s*$/.test(input) ? Number(input) : NaN;
    if (!(n >= bounds.min && n <= bounds.max)) throw new Error(`expected a whole number from ${bounds.min} to ${bounds.max}, got "${input.slice(0, 20)}"`);
    return n;
  };
  const accepts = `a whole number, ${bounds.min.toLocaleString('en')}–${bounds.max.toLocaleString('en')}`;
  return make(validator(parse)({ default: parse(String(fallback)) }), doc, parse(String(fallback)), code(String(fallback)), accepts);
}

/** A value with its own parser (src/config/*.ts), its default written as the operator would. */
export function parsed<T>(doc: string, parse: (input: string) => T, fallback: string, opts: Documented & { accepts: string; shownDefault?: string }): Variable<T> {
  const value = parse(fallback);
  return make(validator(parse)({ default: value as NonNullable<T> }), doc, value, opts.shownDefault ?? code(fallback), opts.accepts, opts.also);
}
