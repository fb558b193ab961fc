import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { startStandaloneServer } from '@apollo/server/standalone';
import { sessionCheck } from '../session-check.js';
import { accessTokenVerifier, type AccessTokenSettings } from './access-token.js';
import { startAccountEventsReceiver } from './account-events.js';
import { OrderBook, buildOrdersSchema, type OrdersContext } from './schema.js';

export interface OrdersSubgraph {
  url: string;
  /** The account-events webhook URL (give it to the gateway's WEBHOOK_ENDPOINTS), when enabled. */
  accountEventsUrl: string | null;
  book: OrderBook;
  stop(): Promise<void>;
}

/** Starts the orders subgraph over HTTP (`/` answers GraphQL). */
export async function startOrdersSubgraph(
  opts: AccessTokenSettings & { port: number; host?: string; accountEvents?: { secret: string; port: number } },
): Promise<OrdersSubgraph> {
  const verify = accessTokenVerifier(opts);
  const book = new OrderBook();
  const server = new ApolloServer<OrdersContext>({
    schema: buildOrdersSchema(book),
    // Apollo answers inline-trace requests of any caller on a subgraph by default; this
    // example reports to no one, so it answers none (the auth gateway answers only its router).
    plugins: [ApolloServerPluginInlineTraceDisabled()],
  });
  const { url } = await startStandaloneServer(server, {
    listen: { port: opts.port, host: opts.host ?? '127.0.0.1' },
    context: async ({ req }) => {
      let caller: ReturnType<OrdersContext['caller']> | null = null;
      return { caller: () => (caller ??= verify(req.headers.authorization)) };
    },
  });
  const events = opts.accountEvents ? await startAccountEventsReceiver(book, { ...opts.accountEvents, host: opts.host }) : null;
  return {
    url,
    accountEventsUrl: events?.url ?? null,
    book,
    stop: async () => {
      await events?.stop();
      await server.stop();
    },
  };
}

// `npm run example:orders`: settings from the environment, defaults for a local gateway.
if (import.meta.url === `file://${process.argv[1]}`) {
  const gateway = process.env.AUTH_GATEWAY_URL ?? 'http://localhost:4000';
  const { url, accountEventsUrl } = await startOrdersSubgraph({
    port: Number(process.env.ORDERS_PORT ?? 4001),
    host: process.env.ORDERS_HOST ?? '127.0.0.1',
    jwksUrl: `${gateway}/.well-known/jwks.json`,
    issuer: process.env.AUTH_ISSUER ?? gateway,
    audience: process.env.AUTH_AUDIENCE ?? 'graphql-auth-gateway',
    // With the gateway's WEBHOOK_SECRET, deleted accounts' orders are erased (see the README).
    accountEvents: process.env.WEBHOOK_SECRET ? { secret: process.env.WEBHOOK_SECRET, port: Number(process.env.ORDERS_EVENTS_PORT ?? 4002) } : undefined,
    // Behind a router that does not introspect (Apollo Router, router.yaml): check each token's session here.
    sessionCheck: process.env.INTROSPECTION_SECRET ? sessionCheck({ url: `${gateway}/oauth/introspect`, secret: process.env.INTROSPECTION_SECRET }) : undefined,
  });
  process.stdout.write(`orders subgraph ready at ${url}${accountEventsUrl ? `; account events webhook at ${accountEventsUrl}` : ""}\n`);
}
