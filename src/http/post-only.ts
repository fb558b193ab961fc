import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/**
 * A POST-only endpoint's answer to every other method: 405 with `Allow: POST`, in the
 * endpoint's own error format (`refuse`), instead of Fastify's 404, which would tell a caller
 * using the wrong method that the endpoint does not exist.
 */
export function refuseOtherMethods(app: FastifyInstance, url: string, refuse: (reply: FastifyReply, request: FastifyRequest) => FastifyReply): void {
  app.route({
    method: ['GET', 'HEAD', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
    url,
    handler: async (request, reply) => refuse(reply.header('allow', 'POST').code(405), request),
  });
}
