import type { ApolloServerOptions, BaseContext } from '@apollo/server';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import { GraphQLError, type ValidationContext } from 'graphql';
import type { Config } from '../config/index.js';
import { OneAuthFieldPerOperation } from './one-auth-field.js';

/** Directives per operation (`@skip`, `@include`): not configurable, nobody legitimate needs more. */
export const MAX_DIRECTIVES = 50;

/**
 * Per-operation limits, applied before anything executes. A request over a limit is answered
 * HTTP 400 with `GRAPHQL_PARSE_FAILED` (tokens) or `GRAPHQL_VALIDATION_FAILED` (the rest).
 *
 * - Tokens: graphql-js's own `parse(…, { maxTokens })`, so an oversized document is refused
 *   while it is being lexed, before a syntax tree is built, and the parser's recursion depth
 *   is bounded too (a `{a{a{a…` bomb stops at the limit). graphql-armor's max-tokens plugin is
 *   not used: on Apollo Server it throws from a `parsingDidStart` hook, outside Apollo's
 *   parse error handling, which answers HTTP 500 and parses the document twice; its
 *   `unexpectedErrorProcessingRequest` hook also relabels every unexpected error as a
 *   validation failure.
 * - Depth, aliases, cost, directives: graphql-armor's validation rules (`ApolloArmor`), which
 *   report through the validation context, so Apollo answers them as GRAPHQL_VALIDATION_FAILED.
 *   Introspection (`__schema`) is exempt from depth and cost; it is off in production anyway.
 * - At most one `signInWithGoogle`/`refreshSession` per operation (src/graphql/one-auth-field.ts).
 * - Fragment expansion: Apollo's `maxRecursiveSelections` bounds the selections an operation
 *   expands to through nested fragment spreads (exponential in the document size otherwise).
 * - Field suggestions ("Did you mean …?") are hidden in production with Apollo Server 5's own
 *   `hideSchemaDetailsFromClientErrors` (armor's Apollo variant leaves a dangling "?"), so a
 *   client with introspection off cannot map the schema by guessing.
 * Batched HTTP requests are off (src/graphql/plugin.ts).
 */
export function graphqlLimits(
  limits: Config['graphql'],
  production: boolean,
): Required<Pick<ApolloServerOptions<BaseContext>, 'parseOptions' | 'validationRules' | 'maxRecursiveSelections' | 'hideSchemaDetailsFromClientErrors'>> {
  // Armor's rules prefix their messages with "Syntax Error: " (they are not syntax errors).
  const report = (ctx: ValidationContext | null, error: GraphQLError) => ctx?.reportError(new GraphQLError(error.message.replace(/^Syntax Error: /, '')));
  const callbacks = { propagateOnRejection: false, onReject: [report] };
  const armor = new ApolloArmor({
    maxTokens: { enabled: false },
    blockFieldSuggestion: { enabled: false },
    maxDepth: { n: limits.maxDepth, ...callbacks },
    maxAliases: { n: limits.maxAliases, ...callbacks },
    costLimit: { maxCost: limits.maxCost, ...callbacks },
    maxDirectives: { n: MAX_DIRECTIVES, ...callbacks },
  }).protect();
  return {
    parseOptions: { maxTokens: limits.maxTokens },
    validationRules: [...armor.validationRules, OneAuthFieldPerOperation],
    maxRecursiveSelections: true,
    hideSchemaDetailsFromClientErrors: production,
  };
}
