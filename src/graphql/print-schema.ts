import { execute, parse } from 'graphql';
import { buildGatewaySchema } from './schema.js';

/**
 * The subgraph SDL exactly as the gateway serves it in `{ _service { sdl } }`: what
 * `rover subgraph introspect`, a schema registry and a router's IntrospectAndCompose see.
 * It is asked of the schema itself (the same resolver the HTTP endpoint runs), so it cannot
 * drift from what is served; `npm run schema:print` writes it to schema.graphql, with a final
 * newline, and test/graphql/schema.test.ts compares the file with what a running gateway
 * answers over HTTP.
 */
export async function printGatewaySchema(): Promise<string> {
  const result = await execute({ schema: await buildGatewaySchema(), document: parse('{ _service { sdl } }') });
  const sdl = (result.data?._service as { sdl?: unknown } | undefined)?.sdl;
  if (result.errors?.length || typeof sdl !== 'string') throw new Error(`_service { sdl } failed: ${result.errors?.map((e) => e.message).join('; ') ?? 'no sdl'}`);
  return `${sdl}\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.stdout.write(await printGatewaySchema());
}
