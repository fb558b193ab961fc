import { describe, expect, it } from '@jest/globals';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { RequestLogger } from '../../src/http/request-logger.js';

/** Fastify's pino logger, built as ours is (a serializer, a stream), writing into `lines`; a fixed time. */
function capture(level = 'info') {
  const lines: string[] = [];
  const app = Fastify({
    logger: { level, timestamp: () => ',"time":1', serializers: { req: (r: { url: string }) => ({ path: r.url }) }, stream: { write: (l: string) => lines.push(l) } },
  });
  return { lines, logger: app.log };
}

const factory = (parent: FastifyBaseLogger, bindings: object, options: object = {}) =>
  RequestLogger.factory.call({} as FastifyInstance, parent, bindings, options, {} as never);

describe('request.log without a child logger per request', () => {
  it('writes the completion line byte for byte as a pino child with the same bindings would', () => {
    const fields = { method: 'POST', path: '/graphql', statusCode: 200, responseTimeMs: 1.25, graphql: { operation: 'Me', errors: ['X:y'] }, req: { url: '/q' } };
    const lazy = capture();
    (factory(lazy.logger, { reqId: 'r-1' }) as RequestLogger).line('info', fields, 'request completed');
    const eager = capture();
    eager.logger.child({ reqId: 'r-1' }).info(fields, 'request completed');
    expect(lazy.lines).toHaveLength(1);
    expect(lazy.lines).toEqual(eager.lines);
    expect(JSON.parse(lazy.lines[0]!)).toMatchObject({ level: 30, reqId: 'r-1', path: '/graphql', req: { path: '/q' }, msg: 'request completed' });
  });

  it('writes nothing, and builds nothing, at a level that is off', () => {
    const { lines, logger } = capture('info');
    let children = 0;
    const counting = Object.assign(Object.create(logger) as FastifyBaseLogger, {
      child: (...args: Parameters<FastifyBaseLogger['child']>) => {
        children++;
        return logger.child(...args);
      },
    });
    const log = factory(counting, { reqId: 'r-2' }) as RequestLogger;
    log.debug({ a: 1 }, 'debug line');
    log.line('debug', { a: 1 }, 'quiet route');
    expect(lines).toEqual([]);
    expect(children).toBe(0);
    log.line('info', { a: 1 }, 'completion');
    expect(children).toBe(0);
    // Anything else logged through request.log goes through a real child (built once), and the
    // completion line after it through the same child.
    log.warn({ header: 'router-authorization' }, 'router secret does not match');
    log.error('plain message');
    log.line('info', { a: 2 }, 'completion');
    expect(children).toBe(1);
    expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toEqual([
      expect.objectContaining({ level: 30, reqId: 'r-2', a: 1, msg: 'completion' }),
      expect.objectContaining({ level: 40, reqId: 'r-2', header: 'router-authorization', msg: 'router secret does not match' }),
      expect.objectContaining({ level: 50, reqId: 'r-2', msg: 'plain message' }),
      expect.objectContaining({ level: 30, reqId: 'r-2', a: 2, msg: 'completion' }),
    ]);
    expect(log.level).toBe('info');
  });

  it('gives a route with its own log options a real pino child at once', () => {
    const { lines, logger } = capture('info');
    const log = factory(logger, { reqId: 'r-3' }, { level: 'debug' });
    expect(log).not.toBeInstanceOf(RequestLogger);
    log.debug('route debug');
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 20, reqId: 'r-3', msg: 'route debug' });
  });
});
