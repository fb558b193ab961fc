import type { Config } from '../../config/index.js';
import type { AppleMetrics } from '../../metrics/apple-metrics.js';
import type { Stores } from '../../store/types.js';
import { AppleTokenApi } from './api.js';
import { AppleClientSecrets } from './client-secret.js';
import { AppleCodeExchange } from './exchange.js';
import { AppleRevoker } from './revoker.js';

export { AppleCodeExchange } from './exchange.js';
export { AppleRevoker } from './revoker.js';
export { AppleNotifications } from './notifications.js';

export interface AppleTokens {
  exchange: AppleCodeExchange;
  revoker: AppleRevoker;
}

export interface AppleTokensDeps {
  now: () => number;
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
  metrics: AppleMetrics;
  /** Tests: `fetch` for Apple's endpoints, one call's timeout, the revoker's poll period (0: only `flush`). */
  fetch?: typeof fetch;
  timeoutMs?: number;
  pollMs?: number;
}

/**
 * The code exchange and the revoker, started; null without the developer account's key
 * (APPLE_TEAM_ID…: codes are then ignored and nothing is revoked) or without Redis (the config
 * refuses the key without it; this only narrows the types).
 */
export async function startAppleTokens(config: Config, stores: Stores, deps: AppleTokensDeps): Promise<AppleTokens | null> {
  const cfg = config.appleTokens;
  if (!cfg || config.apple.clientIds.length === 0 || !stores.deliveries || !stores.revocations) return null;
  const api = new AppleTokenApi({
    tokenUrl: cfg.tokenUrl,
    revokeUrl: cfg.revokeUrl,
    secrets: new AppleClientSecrets({ teamId: cfg.teamId, keyId: cfg.keyId, privateKey: cfg.privateKey }, deps.now),
    fetch: deps.fetch,
    timeoutMs: deps.timeoutMs,
  });
  const exchange = new AppleCodeExchange({ api, accounts: stores.accounts, encryptionKey: cfg.encryptionKey, log: deps.log, count: deps.metrics.exchange });
  const revoker = new AppleRevoker({
    api,
    deliveries: stores.deliveries,
    revocations: stores.revocations,
    encryptionKey: cfg.encryptionKey,
    now: deps.now,
    log: deps.log,
    count: deps.metrics.revocation,
    pollMs: deps.pollMs,
  });
  await revoker.start();
  return { exchange, revoker };
}
