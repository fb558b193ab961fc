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

/**
 * SIGTERM/SIGINT: graceful shutdown (src/http/lifecycle.ts), then exit 0. A second signal
 * (an impatient Ctrl-C) exits at once with 1; so does a shutdown that somehow outlives its own
 * bounds (SHUTDOWN_DELAY + SHUTDOWN_TIMEOUT + a margin for closing Redis).
 */
const SHUTDOWN_MARGIN_MS = 5_000;
let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) {
      gateway.app.log.warn({ signal }, 'second stop signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    gateway.app.log.info({ signal }, 'shutting down');
    setTimeout(() => {
      gateway.app.log.error({}, 'shutdown did not complete in time: exiting');
      process.exit(1);
    }, config.shutdown.delayMs + config.shutdown.timeoutMs + SHUTDOWN_MARGIN_MS).unref();
    gateway
      .close()
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        gateway.app.log.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  });
}
