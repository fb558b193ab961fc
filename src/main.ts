/**
 * Entry point: configuration → gateway → listen. Wiring only; see src/gateway.ts.
 */
import { ConfigError, loadConfig, type Config } from './config/index.js';
import { createGateway } from './gateway.js';

let config: Config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
  throw err;
}

const gateway = await createGateway(config);
await gateway.listen();

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    if (stopping) return;
    stopping = true;
    gateway.app.log.info({ signal }, 'shutting down');
    gateway
      .close()
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        gateway.app.log.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  });
}
