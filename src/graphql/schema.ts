import 'reflect-metadata';
import type { GraphQLSchema } from 'graphql';
import { buildSchema } from 'type-graphql';
import { SessionResolver } from '../sessions/session.resolver.js';
import { UserResolver } from '../users/user.resolver.js';

/** The schema, built once from the decorated classes. */
export async function buildGatewaySchema(): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers: [SessionResolver, UserResolver],
    validate: false,
  });
}
