import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { configurationTable, TABLE_END, TABLE_START, withConfigurationTable } from '../../src/config/docs.js';
import { formatDuration } from '../../src/config/duration.js';
import { readSections, SECTIONS } from '../../src/config/index.js';
import { defineSection } from '../../src/config/section.js';
import { server } from '../../src/config/sections/server.js';
import { duration, text } from '../../src/config/variables.js';
import { problemsOf } from './problems.js';

const names = SECTIONS.flatMap((s) => Object.keys(s.variables));

/** A section as the coming ones are written: its own file, one line in SECTIONS. */
const audit = defineSection({
  title: 'Audit log',
  variables: {
    AUDIT_URL: text('where audit records are posted', { unsetMeans: 'no audit log', accepts: 'an `https:` URL' }),
    AUDIT_TIMEOUT: duration('how long one post may take', '5s', { max: '30s' }),
  },
  read(v, ctx) {
    const { production } = ctx.of(server);
    if (production && v.AUDIT_URL && !v.AUDIT_URL.startsWith('https://')) ctx.problem('AUDIT_URL', 'must be an https: URL in production');
    return { audit: { url: v.AUDIT_URL || null, timeoutMs: v.AUDIT_TIMEOUT } };
  },
});

describe('configuration sections', () => {
  it('declare each variable once, in upper snake case', () => {
    expect(names).toEqual(expect.arrayContaining(['NODE_ENV', 'REDIS_URL', 'GOOGLE_CLIENT_IDS', 'AUTH_ISSUER', 'TRUST_PROXY', 'SHUTDOWN_TIMEOUT']));
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(name).toMatch(/^[A-Z][A-Z0-9_]*$/);
  });

  it('take a new section as one more entry: its variables, rules and part of the config join the rest', () => {
    const sections = [...SECTIONS, audit];
    const config = readSections(sections, { AUDIT_URL: 'https://hooks.example.com/e', PORT: '4100' }) as Record<string, unknown>;
    expect(config.audit).toEqual({ url: 'https://hooks.example.com/e', timeoutMs: 5_000 });
    expect(config.port).toBe(4100);
    // One message still names every bad variable, old sections' and new alike.
    const env = { NODE_ENV: 'production', AUDIT_URL: 'http://hooks.example.com', AUDIT_TIMEOUT: '1m', PORT: 'x' };
    expect(problemsOf(() => readSections(sections, env))).toEqual({
      PORT: expect.any(String),
      REDIS_URL: expect.stringContaining('is required when NODE_ENV=production'),
      GOOGLE_CLIENT_IDS: expect.stringContaining('is required'),
      AUTH_ISSUER: expect.stringContaining('is required'),
      AUDIT_URL: 'must be an https: URL in production',
      AUDIT_TIMEOUT: 'must be at most 30s',
    });
    expect(configurationTable(sections)).toContain('| `AUDIT_TIMEOUT` | how long one post may take | a duration, at most 30s | `5s` |');
  });

  it('refuse an order in which a section reads one that comes after it, and two sections setting one key', () => {
    expect(() => readSections([audit], {})).toThrow('config section "Audit log" reads "Process", which must come before it in SECTIONS');
    expect(() => readSections([server, server], {})).toThrow('config sections both set "production"');
  });

  it('see the default of a variable that failed to parse, so no rule trips over a missing value', () => {
    // SESSION_MAX_LIFETIME is compared with ACCESS_TOKEN_TTL only when both parsed.
    expect(problemsOf(() => readSections(SECTIONS, { ACCESS_TOKEN_TTL: 'soon', SESSION_MAX_LIFETIME: '1m' }))).toEqual({
      ACCESS_TOKEN_TTL: 'expected a duration such as 90s, 15m, 12h or 30d, got "soon"',
    });
  });

  it('show durations as an operator writes them', () => {
    expect([30 * 86_400_000, 3_600_000, 90_000, 1_500, 0].map(formatDuration)).toEqual(['30d', '1h', '90s', '1500ms', '0s']);
  });
});

describe('README.md configuration table', () => {
  const readme = readFileSync('README.md', 'utf8');

  it('is the one the sections declare (stale? run `npm run docs:config`)', () => {
    const fresh = withConfigurationTable(readme);
    expect(readme === fresh ? 'up to date' : 'README.md’s configuration table is stale: run `npm run docs:config`').toBe('up to date');
  });

  it('lists every variable once, with its meaning, the values it accepts and its default', () => {
    const table = readme.slice(readme.indexOf(TABLE_START), readme.indexOf(TABLE_END));
    const rows = table.split('\n').filter((l) => l.startsWith('| `'));
    expect(rows.map((r) => /^\| `([A-Z0-9_]+)` \|/.exec(r)?.[1])).toEqual(names);
    for (const row of rows) expect(row.split(' | ').every((c) => c.replace(/^\|\s*|\s*\|$/g, '').length > 0)).toBe(true);
    expect(table).toContain('| `ACCESS_TOKEN_TTL` | access token lifetime | a duration, at least 10s | `15m` |');
    expect(table).toContain('required in production; in development `http://localhost:<PORT>`');
  });

  it('is rewritten only between its markers, and a README without them is refused', () => {
    const doc = `intro\n${TABLE_START}\nold table\n${TABLE_END}\noutro\n`;
    expect(withConfigurationTable(doc, '| t |')).toBe(`intro\n${TABLE_START}\n| t |\n${TABLE_END}\noutro\n`);
    expect(() => withConfigurationTable('no markers')).toThrow(/no configuration table markers/);
  });
});

describe('.env.example', () => {
  it('names only variables the sections declare', () => {
    const mentioned = [...readFileSync('.env.example', 'utf8').matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]);
    expect(mentioned.length).toBeGreaterThan(20);
    expect(mentioned.filter((n) => !names.includes(n!))).toEqual([]);
    expect(mentioned).toContain('AUTH_ISSUER');
  });
});
