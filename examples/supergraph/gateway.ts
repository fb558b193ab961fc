import { readFileSync } from 'node:fs';
import { ApolloGateway, RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';

/**
 * A JavaScript stand-in for Apollo Router, for trying the router.yaml set-up without the
 * router binary (and what test/federation/supergraph.test.ts runs in `npm test`, which does
 * not install the example's Hive Gateway): @apollo/gateway serving the composed
 * supergraph.graphql. It does what router.yaml configures the router to do with the headers:
 * forward the caller's Authorization to every subgraph, and add the shared router secret to
 * requests for the auth subgraph only. Like router.yaml without a coprocessor, it does not ask
 * whether a token's session is live: there, each subgraph does (orders with
 * INTROSPECTION_SECRET set). (router.yaml also verifies the JWT at the edge; here the
 * subgraphs' own checks are all there is.)
 */
export interface SupergraphGatewayOptions {
  supergraphSdl: string;
  port: number;
  host?: string;
  /** The auth gateway's ROUTER_SHARED_SECRET; unset: the router is not trusted. */
  routerSecret?: string;
  /** Name of the auth subgraph in the supergraph. */
  authSubgraph?: string;
}

interface RouterContext {
  authorization?: string;
}

/** One subgraph: the caller's Authorization goes along, plus any fixed headers. */
class ForwardingDataSource extends RemoteGraphQLDataSource<RouterContext> {
  constructor(
    url: string,
    private readonly fixedHeaders: Record<string, string>,
  ) {
    super({ url });
  }

  override willSendRequest({ request, context }: GraphQLDataSourceProcessOptions<RouterContext>): void {
    const authorization: unknown = context.authorization;
    if (typeof authorization === 'string') request.http?.headers.set('authorization', authorization);
    for (const [name, value] of Object.entries(this.fixedHeaders)) request.http?.headers.set(name, value);
  }
}

export async function startSupergraphGateway(opts: SupergraphGatewayOptions): Promise<{ url: string; stop(): Promise<void> }> {
  const authSubgraph = opts.authSubgraph ?? 'auth';
  const gateway = new ApolloGateway({
    supergraphSdl: opts.supergraphSdl,
    buildService: ({ name, url }) =>
      new ForwardingDataSource(url!, name === authSubgraph && opts.routerSecret ? { 'router-authorization': opts.routerSecret } : {}),
  });
  const server = new ApolloServer<RouterContext>({ gateway });
  const { url } = await startStandaloneServer(server, {
    listen: { port: opts.port, host: opts.host ?? '127.0.0.1' },
    context: async ({ req }) => ({ authorization: req.headers.authorization }),
  });
  return { url, stop: () => server.stop() };
}

// `npm run example:gateway` (from the repository root), after `npm run example:compose`.
if (import.meta.url === `file://${process.argv[1]}`) {
  const { url } = await startSupergraphGateway({
    supergraphSdl: readFileSync('examples/supergraph/supergraph.graphql', 'utf8'),
    port: Number(process.env.SUPERGRAPH_PORT ?? 4100),
    routerSecret: process.env.ROUTER_SHARED_SECRET,
  });
  process.stdout.write(`supergraph ready at ${url}\n`);
}
