import { buildSubgraphSchema, printSubgraphSchema, type GraphQLReferenceResolver, type GraphQLResolverMap } from '@apollo/subgraph';
import { isObjectType, isUnionType, parse, type GraphQLFieldResolver, type GraphQLSchema } from 'graphql';
import { createResolversMap } from 'type-graphql';
import { BadUserInputError } from '../errors.js';

/**
 * The Federation version our subgraph SDL links. 2.3 is the oldest version with everything we
 * use (`@key`) that every supported router and gateway understands; raising it only matters
 * when we start using a newer directive.
 */
export const FEDERATION_LINK = 'https://specs.apollo.dev/federation/v2.3';

/**
 * Turns the type-graphql schema into an Apollo Federation 2 subgraph: `_service { sdl }`,
 * `_entities` for every `@key` type, and the federation directive definitions.
 *
 * type-graphql keeps `@Directive`s only on the schema's AST nodes, which graphql-js'
 * `printSchema` drops, so the SDL handed to `buildSubgraphSchema` is printed with the
 * directive-preserving subgraph printer. The resolvers (type-graphql's, middlewares included)
 * are carried over from the built schema, plus the entities' `__resolveReference`s.
 */
export function toSubgraphSchema<C>(schema: GraphQLSchema, referenceResolvers: Record<string, GraphQLReferenceResolver<C>>): GraphQLSchema {
  const typeDefs = parse(`extend schema @link(url: "${FEDERATION_LINK}", import: ["@key"])\n\n${printSubgraphSchema(schema)}`);
  const resolvers = createResolversMap(schema) as GraphQLResolverMap;
  for (const [typeName, resolveReference] of Object.entries(referenceResolvers)) {
    const type = schema.getType(typeName);
    if (!isObjectType(type)) throw new TypeError(`no object type ${typeName} to resolve references of`);
    // Apollo's resolver-map type has no slot for `(reference, context, info)`; it is called that way.
    resolvers[typeName] = { ...(resolvers[typeName] as object), __resolveReference: resolveReference as never };
  }
  const subgraph = buildSubgraphSchema([{ typeDefs, resolvers }]);
  guardRepresentations(subgraph);
  return subgraph;
}

/**
 * `_entities` trusts its representations: an unknown `__typename` or one that is not an entity
 * makes Apollo's resolver throw a plain Error (INTERNAL_SERVER_ERROR). Anyone can send this
 * field, so malformed representations are refused up front with BAD_USER_INPUT.
 */
function guardRepresentations(schema: GraphQLSchema): void {
  const field = schema.getQueryType()?.getFields()._entities;
  const union = schema.getType('_Entity');
  if (!field?.resolve || !isUnionType(union)) return;
  const entityTypes = new Set(union.getTypes().map((t) => t.name));
  const resolve: GraphQLFieldResolver<unknown, unknown> = field.resolve;
  field.resolve = (source, args: { representations?: unknown }, context, info) => {
    const reps = args.representations;
    const ok = Array.isArray(reps) && reps.every((r: unknown) => typeof r === 'object' && r !== null && entityTypes.has((r as { __typename?: unknown }).__typename as string));
    if (!ok) throw new BadUserInputError(`Every representation must be an object whose __typename is one of: ${[...entityTypes].join(', ')}.`);
    return resolve(source, args, context, info);
  };
}
