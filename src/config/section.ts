import type { ValidatorSpec } from 'envalid';

/**
 * The building blocks of the configuration: a section (src/config/sections/*.ts) owns a few
 * environment variables and turns them into one part of the `Config` object.
 *
 * A variable is declared once, in its section: how it is parsed and bounded (an envalid
 * validator, default included), and the words the README's configuration table shows for it
 * (`npm run docs:config` writes that table from these declarations; src/config/docs.ts).
 */
export interface Variable<T> {
  /** The envalid spec: parser (with its bounds) and default. */
  readonly spec: ValidatorSpec<T>;
  /** What the variable means: one line of Markdown. */
  readonly doc: string;
  /** The values it accepts, Markdown: its form and bounds (`a duration, at least 10s`) and the section's rules on it. */
  readonly accepts: string;
  /** The table's default column, Markdown (`` `15m` ``, `unset: …`). */
  readonly shownDefault: string;
  /** The parsed default: what a section sees when the variable is unset, or when it was bad. */
  readonly fallback: T;
}

/** What a section's `read` may do besides reading its own variables. */
export interface ReadContext<Name extends string> {
  /** The result of a section listed before this one in SECTIONS (src/config/index.ts). */
  of<Out>(section: Section<Record<string, Variable<unknown>>, Out>): Out;
  /** Refuse a variable of this section. The first problem recorded for a variable is the one reported. */
  problem(variable: Name, message: string): void;
  /** The variable parsed and no rule has refused it yet: rules involving it may run. */
  valid(variable: Name): boolean;
}

export type Values<Vars> = { readonly [K in keyof Vars]: Vars[K] extends Variable<infer T> ? T : never };

export interface Section<Vars extends Record<string, Variable<unknown>>, Out> {
  /** The part of the gateway it configures, for the README (`Redis`, `Google sign-in`). */
  readonly title: string;
  /** Its variables, in the order the README lists them. */
  readonly variables: Vars;
  /**
   * Cross-variable rules (reported through `ctx.problem`) and the section's part of `Config`.
   * A variable that failed to parse arrives as its default (the problem is already recorded
   * and the resulting config is discarded), so `read` never sees a missing value; a rule
   * comparing two variables checks `ctx.valid` for both, so it does not pile a misleading
   * second complaint on a variable that is already reported.
   */
  read(values: Values<Vars>, ctx: ReadContext<keyof Vars & string>): Out;
}

/** Identity with inference: `defineSection({ title, variables, read })`. */
export function defineSection<Vars extends Record<string, Variable<unknown>>, Out extends object>(section: Section<Vars, Out>): Section<Vars, Out> {
  return section;
}
