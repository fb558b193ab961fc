import { readFileSync, writeFileSync } from 'node:fs';
import { SECTIONS } from './index.js';
import type { Section, Variable } from './section.js';

/**
 * README.md's configuration table, written from the sections' declarations
 * (`npm run docs:config`); test/config/docs.test.ts fails when the README is stale.
 */
export const TABLE_START = '<!-- configuration table: written by `npm run docs:config` from src/config/sections/*.ts; edit those, not this table -->';
export const TABLE_END = '<!-- end of the configuration table -->';

const cell = (markdown: string) => markdown.replaceAll('|', '\\|');

export function configurationTable(sections: readonly Section<Record<string, Variable<unknown>>, object>[] = SECTIONS): string {
  const rows = sections.flatMap((section) =>
    Object.entries(section.variables).map(([name, v]) => `| \`${name}\` | ${cell(v.doc)} | ${cell(v.accepts)} | ${cell(v.shownDefault)} |`),
  );
  return ['| variable | meaning | accepts | default |', '|---|---|---|---|', ...rows].join('\n');
}

/** `readme` with the text between the markers replaced by `table`. */
export function withConfigurationTable(readme: string, table = configurationTable()): string {
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  if (start === -1 || end < start) throw new Error(`README.md has no configuration table markers (${TABLE_START} … ${TABLE_END})`);
  return `${readme.slice(0, start + TABLE_START.length)}\n${table}\n${readme.slice(end)}`;
}

// `npm run docs:config` (from the repository root): rewrites README.md's table in place.
if (import.meta.url === `file://${process.argv[1]}`) {
  const readme = readFileSync('README.md', 'utf8');
  const next = withConfigurationTable(readme);
  if (next === readme) {
    process.stdout.write('README.md: the configuration table is up to date\n');
  } else {
    writeFileSync('README.md', next);
    process.stdout.write('README.md: rewrote the configuration table\n');
  }
}
