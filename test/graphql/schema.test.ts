import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { printGatewaySchema } from '../../src/graphql/print-schema.js';
import { uniquePrefix, usePrivateRedis } from '../support/env.js';
import { FakeGoogle } from '../support/fake-google.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

/**
 * schema.graphql is the subgraph SDL exactly as a running gateway serves it in
 * `{ _service { sdl } }` (what `rover subgraph introspect` prints and a schema registry
 * stores), followed by a newline: asked here of a real gateway over HTTP.
 */
describe('schema.graphql', () => {
  const redis = usePrivateRedis();
  let google: FakeGoogle;
  let gw: TestGateway;
  let served: string;

  beforeAll(async () => {
    google = await FakeGoogle.start();
    gw = await startTestGateway({ redisUrl: redis.url, prefix: uniquePrefix(), google });
    const res = await gw.gql<{ _service: { sdl: string } }>('{ _service { sdl } }');
    expect(res.body.errors).toBeUndefined();
    served = res.body.data!._service.sdl;
  });
  afterAll(async () => {
    await gw?.close();
    await google?.close();
  });

  it('is the SDL a running gateway serves as _service { sdl } (stale? run `npm run schema:print`)', () => {
    const file = readFileSync('schema.graphql', 'utf8');
    expect(file === `${served}\n` ? 'up to date' : 'schema.graphql differs from _service { sdl }: run `npm run schema:print`').toBe('up to date');
  });

  it('is what `npm run schema:print` writes', async () => {
    expect(await printGatewaySchema()).toBe(`${served}\n`);
  });

  it('is a Federation 2 subgraph SDL: the @link, User as an entity, the entity and service fields', () => {
    expect(served.startsWith('extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])\n')).toBe(true);
    expect(served).toMatch(/^type User @key\(fields: "id"\) \{$/m);
    expect(served).toMatch(/^extend type Query \{\n {2}_entities\(representations: \[_Any!\]!\): \[_Entity\]!\n {2}_service: _Service!\n\}$/m);
    expect(served).toContain('union _Entity = User');
  });
});
