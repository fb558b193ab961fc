import { readFileSync, writeFileSync } from 'node:fs';
import { composeServices } from '@apollo/composition';
import { parse, type DocumentNode } from 'graphql';
import { ordersTypeDefs } from './orders/schema.js';

/**
 * Composes the supergraph from the subgraphs' SDL with Apollo's own composition library (what
 * `rover supergraph compose` runs). Composition errors fail; so does any hint not listed in
 * EXPLAINED_HINTS, so a schema change that makes composition guess shows up at once.
 */
export interface SubgraphSource {
  name: string;
  /** Where the router sends this subgraph's requests. */
  url: string;
  typeDefs: DocumentNode;
}

/** Hint code → why it is expected here. Empty: this supergraph composes without hints. */
export const EXPLAINED_HINTS: Readonly<Record<string, string>> = {};

export class CompositionError extends Error {}

export function composeSupergraph(subgraphs: SubgraphSource[]): string {
  const result = composeServices(subgraphs);
  if (result.errors) throw new CompositionError(`composition failed:\n${result.errors.map((e) => `  ${e.message}`).join('\n')}`);
  const unexplained = result.hints.filter((h) => !(h.definition.code in EXPLAINED_HINTS));
  if (unexplained.length > 0) {
    throw new CompositionError(`composition left unexplained hints:\n${unexplained.map((h) => `  [${h.definition.code}] ${h.message}`).join('\n')}`);
  }
  return result.supergraphSdl;
}

/** The two subgraphs of this example, at the addresses README.md uses. */
export function exampleSubgraphs(authSdl: string, urls = { auth: 'http://localhost:4000/graphql', orders: 'http://localhost:4001/' }): SubgraphSource[] {
  return [
    { name: 'auth', url: urls.auth, typeDefs: parse(authSdl) },
    { name: 'orders', url: urls.orders, typeDefs: ordersTypeDefs },
  ];
}

// `npm run example:compose` (from the repository root): schema.graphql + orders → supergraph.graphql
if (import.meta.url === `file://${process.argv[1]}`) {
  const out = 'examples/supergraph/supergraph.graphql';
  writeFileSync(out, composeSupergraph(exampleSubgraphs(readFileSync('schema.graphql', 'utf8'))) + '\n');
  process.stdout.write(`wrote ${out}\n`);
}
