import { defineSection } from '../section.js';
import { integer } from '../variables.js';

/** Per-operation GraphQL limits (src/graphql/limits.ts). */
export interface GraphqlConfig {
  readonly graphql: {
    readonly maxDepth: number;
    readonly maxAliases: number;
    readonly maxTokens: number;
    readonly maxCost: number;
  };
}

export const graphql = defineSection({
  title: 'GraphQL limits',
  variables: {
    GRAPHQL_MAX_DEPTH: integer('selection depth per operation (introspection exempt)', 6, { min: 1, max: 100 }),
    GRAPHQL_MAX_ALIASES: integer('aliases per operation', 15, { min: 1, max: 1000 }),
    GRAPHQL_MAX_TOKENS: integer('lexical tokens per document (checked while parsing)', 1000, { min: 1, max: 100_000 }),
    GRAPHQL_MAX_COST: integer(
      'cost per operation ([graphql-armor](https://escape.tech/graphql-armor/docs/plugins/cost-limit)’s estimate: 2 per object, 1 per scalar, ×1.5 per level; introspection exempt)',
      5000,
      { min: 1, max: 10_000_000 },
    ),
  },
  read: (v): GraphqlConfig => ({
    graphql: { maxDepth: v.GRAPHQL_MAX_DEPTH, maxAliases: v.GRAPHQL_MAX_ALIASES, maxTokens: v.GRAPHQL_MAX_TOKENS, maxCost: v.GRAPHQL_MAX_COST },
  }),
});
