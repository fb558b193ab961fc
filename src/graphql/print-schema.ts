import { printSchema } from 'graphql';
import { buildGatewaySchema } from './schema.js';

/** `npm run schema:print` writes this to schema.graphql; a test fails when the file is stale. */
export async function printGatewaySchema(): Promise<string> {
  return printSchema(await buildGatewaySchema()) + '\n';
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.stdout.write(await printGatewaySchema());
}
