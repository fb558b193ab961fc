import { printSubgraphSchema } from '@apollo/subgraph';
import { buildGatewaySchema } from './schema.js';

/**
 * `npm run schema:print` writes this to schema.graphql; a test fails when the file is stale.
 * The subgraph printer keeps the directives (`@key`, `@link`) that graphql-js' printSchema drops.
 */
export async function printGatewaySchema(): Promise<string> {
  return printSubgraphSchema(await buildGatewaySchema()) + '\n';
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.stdout.write(await printGatewaySchema());
}
