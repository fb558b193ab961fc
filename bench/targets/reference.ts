/**
 * The comparison target "reference": what a team would write from Google's guide
 * ("Authenticate with a backend server": google-auth-library `verifyIdToken`) and Apollo's
 * getting-started and authentication docs (standalone server, user looked up in the context
 * function), with an opaque session id in Redis via ioredis. Deliberately straightforward:
 * it is not a product and not a straw man either; it is kept here only to be measured against.
 *
 *   signInWithGoogle(idToken) → verifyIdToken → HSET user:<sub> → SET session:<random> <sub> EX 30d
 *   Authorization: Bearer <session id> → GET session:<id> → HGETALL user:<sub>
 *
 * `serve-reference.ts` runs it as a process.
 */
import { randomBytes } from 'node:crypto';
import { ApolloServer } from '@apollo/server';
import { OAuth2Client } from 'google-auth-library';
import { GraphQLError } from 'graphql';
import { Redis } from 'ioredis';

const SESSION_TTL_S = 3_600;
const REFRESH_TTL_S = 30 * 86_400;

interface User {
  id: string;
  email: string;
  name: string;
  picture: string;
}
interface Context {
  user: User | null;
}

const typeDefs = `#graphql
  type User { id: ID! email: String name: String picture: String }
  type AuthPayload { sessionToken: String! refreshToken: String! user: User! }
  type Tokens { sessionToken: String! refreshToken: String! }
  type Query { me: User }
  type Mutation {
    signInWithGoogle(idToken: String!): AuthPayload!
    refreshSession(refreshToken: String!): Tokens!
  }
`;

export interface ReferenceOptions {
  redis: Redis;
  prefix: string;
  clientId: string;
  /** Where google-auth-library fetches Google's certificates (PEM format on Node). */
  pemCertsUrl?: string;
}

export function createReferenceServer(opts: ReferenceOptions): {
  server: ApolloServer<Context>;
  context: (args: { req: { headers: Record<string, string | string[] | undefined> } }) => Promise<Context>;
} {
  const { redis, prefix, clientId } = opts;
  const client = new OAuth2Client(opts.pemCertsUrl ? { endpoints: { oauth2FederatedSignonPemCertsUrl: opts.pemCertsUrl } } : {});

  // A new session and refresh token for `sub`.
  const openSession = async (sub: string) => {
    const sessionToken = randomBytes(32).toString('base64url');
    const refreshToken = randomBytes(32).toString('base64url');
    await redis.set(`${prefix}session:${sessionToken}`, sub, 'EX', SESSION_TTL_S);
    await redis.set(`${prefix}refresh:${refreshToken}`, sub, 'EX', REFRESH_TTL_S);
    return { sessionToken, refreshToken };
  };

  const resolvers = {
    Query: {
      me: (_: unknown, __: unknown, ctx: Context) => ctx.user,
    },
    Mutation: {
      signInWithGoogle: async (_: unknown, { idToken }: { idToken: string }) => {
        let payload;
        try {
          const ticket = await client.verifyIdToken({ idToken, audience: clientId });
          payload = ticket.getPayload();
        } catch {
          throw new GraphQLError('Invalid ID token', { extensions: { code: 'UNAUTHENTICATED' } });
        }
        if (!payload) throw new GraphQLError('Invalid ID token', { extensions: { code: 'UNAUTHENTICATED' } });
        const user: User = { id: payload.sub, email: payload.email ?? '', name: payload.name ?? '', picture: payload.picture ?? '' };
        await redis.hset(`${prefix}user:${payload.sub}`, user);
        return { ...(await openSession(payload.sub)), user };
      },
      refreshSession: async (_: unknown, { refreshToken }: { refreshToken: string }) => {
        // GETDEL: a refresh token works once, even when two requests race with it.
        const sub = await redis.getdel(`${prefix}refresh:${refreshToken}`);
        if (!sub) throw new GraphQLError('Invalid refresh token', { extensions: { code: 'UNAUTHENTICATED' } });
        return openSession(sub);
      },
    },
  };

  const server = new ApolloServer<Context>({ typeDefs, resolvers });

  const context = async ({ req }: { req: { headers: Record<string, string | string[] | undefined> } }): Promise<Context> => {
    const header = req.headers.authorization;
    if (typeof header !== 'string' || !header.startsWith('Bearer ')) return { user: null };
    const sub = await redis.get(`${prefix}session:${header.slice(7)}`);
    if (!sub) {
      throw new GraphQLError('Not signed in', { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });
    }
    const h = await redis.hgetall(`${prefix}user:${sub}`);
    return { user: h.id ? { id: h.id, email: h.email ?? '', name: h.name ?? '', picture: h.picture ?? '' } : null };
  };

  return { server, context };
}
