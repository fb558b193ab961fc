import 'reflect-metadata';
import type { GraphQLSchema } from 'graphql';
import { buildSchema } from 'type-graphql';
import { toSubgraphSchema } from '../federation/subgraph.js';
import { SessionResolver } from '../sessions/session.resolver.js';
import { resolveUserReference } from '../users/user.reference.js';
import { UserResolver } from '../users/user.resolver.js';
import type { GatewayContext } from './context.js';
// After the resolvers above: type-graphql lists fields in import order, so the original
// operations stay first in schema.graphql.
import { SessionManagementResolver } from '../sessions/session-management.resolver.js';
import { AccountResolver } from '../users/account.resolver.js';
import { IdentityResolver } from '../users/identity.resolver.js';

/** The schema, built once from the decorated classes: an Apollo Federation 2 subgraph. */
export async function buildGatewaySchema(): Promise<GraphQLSchema> {
  const schema = await buildSchema({
    resolvers: [SessionResolver, UserResolver, SessionManagementResolver, AccountResolver, IdentityResolver],
    validate: false,
  });
  return toSubgraphSchema<GatewayContext>(schema, { User: resolveUserReference });
}
