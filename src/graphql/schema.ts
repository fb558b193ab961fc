import 'reflect-metadata';
import type { GraphQLSchema } from 'graphql';
import { buildSchema } from 'type-graphql';
import { SessionResolver } from '../sessions/session.resolver.js';
import { UserResolver } from '../users/user.resolver.js';
// After the resolvers above: type-graphql lists fields in import order, so the original
// operations stay first in schema.graphql.
import { SessionManagementResolver } from '../sessions/session-management.resolver.js';
import { AccountResolver } from '../users/account.resolver.js';

/** The schema, built once from the decorated classes. */
export async function buildGatewaySchema(): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers: [SessionResolver, UserResolver, SessionManagementResolver, AccountResolver],
    validate: false,
  });
}
