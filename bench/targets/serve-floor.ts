/**
 * Process entry for the "floor" target: Apollo Server 5 (standalone, the way Apollo's
 * getting-started guide runs it) answering `{ me { id email name } }` from a constant. No
 * auth, no Redis: the cost of GraphQL over HTTP alone, which no auth layer can beat.
 * Environment: PORT, HOST.
 */
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';

const typeDefs = `#graphql
  type User { id: ID! email: String name: String }
  type Query { me: User }
`;
const ME = Object.freeze({ id: 'YTJhNjg2ZmM0NGY3NDQ5Nw', email: 'user.bench@gmail.com', name: 'Bench User' });

const server = new ApolloServer({ typeDefs, resolvers: { Query: { me: () => ME } } });
const { url } = await startStandaloneServer(server, {
  listen: { port: Number(process.env.PORT ?? 4002), host: process.env.HOST ?? '127.0.0.1' },
});
process.stdout.write(`floor listening at ${url}\n`);
