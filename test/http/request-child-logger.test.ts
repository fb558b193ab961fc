import { describe, expect, it } from '@jest/globals';
import Fastify, { type FastifyInstance } from 'fastify';
import { requestChildLogger } from '../../src/http/request-log.js';

/** Fastify's pino logger, built as ours is (a serializer, a stream), writing into `lines`; a fixed time. */
function capture() {
  const lines: string[] = [];
  const app = Fastify({
    logger: { level: 'info', timestamp: () => ',"time":1', serializers: { req: (r: { url: string }) => ({ path: r.url }) }, stream: { write: (l: string) => lines.push(l) } },
  });
  return { lines, logger: app.log };
}

const child = (logger: FastifyInstance['log'], bindings: object, options: object) => requestChildLogger.call({} as FastifyInstance, logger, bindings, options, {} as never);

describe('request.log', () => {
  it('writes exactly the lines of the child Fastify would build by default', () => {
    const fields = { method: 'POST', path: '/graphql', statusCode: 200, graphql: { operation: 'Me' }, req: { url: '/q' } };
    const ours = capture();
    child(ours.logger, { reqId: 'r-1' }, {}).info(fields, 'request completed');
    const fastify = capture();
    fastify.logger.child({ reqId: 'r-1' }, {}).info(fields, 'request completed');
    expect(ours.lines).toEqual(fastify.lines);
    expect(JSON.parse(ours.lines[0]!)).toMatchObject({ level: 30, time: 1, reqId: 'r-1', req: { path: '/q' }, msg: 'request completed' });
  });

  it("keeps a route's own log level", () => {
    const { lines, logger } = capture();
    child(logger, { reqId: 'r-2' }, { level: 'debug' }).debug('route debug');
    child(logger, { reqId: 'r-3' }, {}).debug('not at info');
    expect(lines.map((l) => JSON.parse(l) as object)).toEqual([expect.objectContaining({ level: 20, reqId: 'r-2', msg: 'route debug' })]);
  });
});
