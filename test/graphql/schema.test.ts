import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { printGatewaySchema } from '../../src/graphql/print-schema.js';

describe('schema.graphql', () => {
  it('is the schema the code builds (run `npm run schema:print` after changing it)', async () => {
    expect(readFileSync('schema.graphql', 'utf8')).toBe(await printGatewaySchema());
  });
});
