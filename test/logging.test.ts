import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { loadConfig } from '../src/config/index.js';
import { createGateway } from '../src/gateway.js';
import { BatchedLineWriter, REDACTED, redactLogLine } from '../src/logging.js';
import { createMemoryStores } from '../src/store/index.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

describe('redactLogLine', () => {
  it('returns a line that names no secret field unchanged (the same string)', () => {
    const line = '{"level":30,"time":1,"reqId":"req-1","res":{"statusCode":200},"responseTime":1.5,"msg":"request completed"}\n';
    expect(redactLogLine(line)).toBe(line);
  });

  it('replaces every secret field, at any depth, and keeps the rest', () => {
    const line = `${JSON.stringify({
      level: 30,
      args: { idToken: 'secret-id-token', keep: 1 },
      list: [{ refreshToken: 'secret-refresh' }],
      req: { headers: { authorization: 'Bearer secret-access', host: 'h' } },
      deep: { a: { b: { accessToken: 'secret-at', nonce: 'secret-nonce' } } },
      msg: 'hello',
    })}\n`;
    const out = redactLogLine(line);
    expect(out).not.toMatch(/secret/);
    expect(out.endsWith('\n')).toBe(true);
    const parsed = JSON.parse(out);
    expect(parsed).toEqual({
      level: 30,
      args: { idToken: REDACTED, keep: 1 },
      list: [{ refreshToken: REDACTED }],
      req: { headers: { authorization: REDACTED, host: 'h' } },
      deep: { a: { b: { accessToken: REDACTED, nonce: REDACTED } } },
      msg: 'hello',
    });
  });

  it('redacts the arguments ioredis attaches to a failed command, and cookies and passwords', () => {
    const line = `${JSON.stringify({
      err: { message: 'ERR x', command: { name: 'evalsha', args: ['ag:user:{u}', 'secret-email@example.com'] } },
      deeper: { err: { command: { name: 'get', args: ['secret-key'] } } },
      req: { headers: { cookie: 'sid=secret-cookie' } },
      login: { password: 'secret-password' },
      args: ['not under a command: kept'],
    })}\n`;
    const out = redactLogLine(line);
    expect(out).not.toMatch(/secret/);
    expect(JSON.parse(out)).toEqual({
      err: { message: 'ERR x', command: { name: 'evalsha', args: REDACTED } },
      deeper: { err: { command: { name: 'get', args: REDACTED } } },
      req: { headers: { cookie: REDACTED } },
      login: { password: REDACTED },
      args: ['not under a command: kept'],
    });
  });

  it('keeps a "__proto__" key as data while redacting around it', () => {
    const out = redactLogLine('{"__proto__":{"nonce":"secret-n","x":1},"msg":"m"}\n');
    expect(out).toBe(`{"__proto__":{"nonce":"${REDACTED}","x":1},"msg":"m"}\n`);
  });

  it('leaves a string value that merely mentions a field name alone', () => {
    const line = `${JSON.stringify({ msg: 'send "idToken": in the body' })}\n`;
    expect(redactLogLine(line)).toBe(line);
  });

  it('withholds a line it cannot parse rather than write a secret', () => {
    const out = redactLogLine('not json "idToken":"secret"\n');
    expect(out).not.toMatch(/secret"/);
    expect(JSON.parse(out)).toMatchObject({ level: 50 });
  });

  it('is what the gateway logger runs: a secret logged anywhere comes out redacted', async () => {
    const lines: string[] = [];
    const config = loadConfig({ NODE_ENV: 'development', DEV_ISSUER: 'false', GOOGLE_CLIENT_IDS: 'c.apps.googleusercontent.com', LOG_LEVEL: 'info' });
    const stores = createMemoryStores();
    const gateway = await createGateway(config, { stores, logStream: { write: (l: string) => lines.push(l) } });
    try {
      gateway.app.log.info({ variables: { idToken: 'secret-one' }, headers: { authorization: 'Bearer secret-two' } }, 'probe');
      gateway.app.log.child({ nonce: 'secret-three' }).warn({ a: { b: { refreshToken: 'secret-four' } } }, 'probe');
    } finally {
      await gateway.close();
      await stores.close();
    }
    const probes = lines.filter((l) => l.includes('"probe"'));
    expect(probes).toHaveLength(2);
    expect(probes.join('')).not.toMatch(/secret-/);
    expect(probes.join('').split(REDACTED)).toHaveLength(5);
  });
});

describe('BatchedLineWriter', () => {
  it('writes the lines of one event-loop turn with one write, in order, after the turn', async () => {
    const chunks: string[] = [];
    const w = new BatchedLineWriter((c) => chunks.push(c));
    w.write('a\n');
    w.write('b\n');
    w.write('c\n');
    expect(chunks).toEqual([]);
    await new Promise((r) => setImmediate(r));
    expect(chunks).toEqual(['a\nb\nc\n']);
    w.write('d\n');
    await new Promise((r) => setImmediate(r));
    expect(chunks).toEqual(['a\nb\nc\n', 'd\n']);
    w.close();
  });

  it('flushes on close and writes straight through afterwards', () => {
    const chunks: string[] = [];
    const w = new BatchedLineWriter((c) => chunks.push(c));
    w.write('a\n');
    w.close();
    expect(chunks).toEqual(['a\n']);
    w.write('b\n');
    expect(chunks).toEqual(['a\n', 'b\n']);
  });

  // In a real process: what was logged just before the process ends is not lost.
  const run = (body: string) =>
    execFileSync(
      process.execPath,
      ['--input-type=module', '-e', `import { BatchedLineWriter } from ${JSON.stringify(pathToFileURL(join(ROOT, 'dist/logging.js')).href)};\n${body}`],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
    );

  it('flushes pending lines when the process calls process.exit', () => {
    expect(run("const w = new BatchedLineWriter(); w.write('one\\n'); w.write('two\\n'); process.exit(0);")).toBe('one\ntwo\n');
  });

  it('flushes pending lines when the process dies of an uncaught exception', () => {
    let out = '';
    try {
      run("const w = new BatchedLineWriter(); w.write('last words\\n'); throw new Error('boom');");
    } catch (err) {
      out = (err as { stdout: string }).stdout;
    }
    expect(out).toBe('last words\n');
  });
});
