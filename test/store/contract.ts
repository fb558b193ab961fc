import { afterAll, beforeAll, describe } from '@jest/globals';
import { accountContract } from './contract-accounts.js';
import type { ContractBackend, ContractContext, StoreFactory } from './contract-fixtures.js';
import { eventContract } from './contract-events.js';
import { identityContract } from './contract-identities.js';
import { providerTokenContract } from './contract-provider-tokens.js';
import { recordContract } from './contract-records.js';
import { securityContract } from './contract-security.js';

export * from './contract-fixtures.js';

export function storeContract(name: string, make: StoreFactory): void {
  describe(`store contract: ${name}`, () => {
    const made: ContractBackend[] = [];
    let shared: ContractBackend;
    const ctx: ContractContext = {
      get backend() {
        return shared;
      },
      get stores() {
        return shared.stores;
      },
      async fresh() {
        const b = await make();
        made.push(b);
        return b;
      },
    };
    beforeAll(async () => {
      shared = await ctx.fresh();
    });
    afterAll(async () => {
      for (const b of made.reverse()) await b.cleanup();
    });

    recordContract(ctx);
    accountContract(ctx);
    identityContract(ctx);
    eventContract(ctx);
    providerTokenContract(ctx);
    securityContract(ctx);
  });
}
