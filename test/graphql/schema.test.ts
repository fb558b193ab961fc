import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { printGatewaySchema } from '../../src/graphql/print-schema.js';

describe('schema.graphql', () => {
  it('is the schema the code builds (run `npm run schema:print` after changing it)', async () => {
    expect(readFileSync('schema.graphql', 'utf8')).toBe(await printGatewaySchema());
  });

  it('is the Federation 2 subgraph SDL, directives included (graphql-js printSchema would drop them)', async () => {
    const sdl = await printGatewaySchema();
    expect(sdl).toContain('@link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])');
    expect(sdl).toMatch(/type User @key\(fields: "id"\) \{/);
    expect(sdl).toMatch(/_entities\(representations: \[_Any!\]!\): \[_Entity\]!/);
    expect(sdl).toContain('union _Entity = User');
  });
});
