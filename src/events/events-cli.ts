/**
 * Operator commands on webhook deliveries, against the gateway's Redis and configuration
 * (WEBHOOK_ENDPOINTS, REDIS_*: give it the gateway's environment):
 *
 *   npm run events -- endpoints          each endpoint's id, origin and backlog
 *   npm run events -- failed             the deliveries that gave up, one JSON line each
 *   npm run events -- replay <event-id>  sends that failed event again (to every endpoint where it failed)
 *   npm run events -- replay --all       sends every failed event again
 *
 * A replayed delivery is retried like a new one (WEBHOOK_RETRY_FOR from now). URLs are never
 * printed (they may hold a secret): endpoints are shown by id and origin.
 * In the Docker image: `node dist/events/events-cli.js failed`. Exit codes: 0 done, 1 nothing to
 * replay or Redis/config trouble, 2 usage.
 */
import { loadConfigForCli } from '../config/index.js';
import { createStores } from '../store/index.js';
import { endpoint } from './webhooks/endpoint.js';

const USAGE = 'usage: npm run events -- endpoints | failed | replay <event-id>|--all';

type Out = { write(s: string): unknown };

export async function runEventsCli(argv: string[], env: NodeJS.ProcessEnv, out: Out, err: Out, now: () => number = Date.now): Promise<number> {
  const [command, arg, ...rest] = argv;
  const valid = (command === 'endpoints' || command === 'failed') ? arg === undefined : command === 'replay' && arg !== undefined && rest.length === 0;
  if (command === '--help' || command === '-h') {
    out.write(`${USAGE}\n`);
    return 0;
  }
  if (!valid) {
    err.write(`${USAGE}\n`);
    return 2;
  }
  const config = loadConfigForCli('events', env, err);
  if (!config) return 1;
  const endpoints = config.webhooks.endpoints.map(endpoint);
  if (!config.redis.topology || endpoints.length === 0) {
    err.write('events: no webhooks are configured: run it with the gateway’s environment (WEBHOOK_ENDPOINTS and REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES)\n');
    return 1;
  }
  const stores = createStores(config);
  try {
    await stores.ping();
    const deliveries = stores.deliveries!;
    switch (command) {
      case 'endpoints':
        for (const ep of endpoints) out.write(`${JSON.stringify({ endpoint: ep.id, origin: ep.origin, ...(await deliveries.backlog(ep.id)) })}\n`);
        return 0;
      case 'failed':
        for (const ep of endpoints) {
          for (const r of await deliveries.failed(ep.id)) {
            out.write(`${JSON.stringify({ endpoint: ep.id, origin: ep.origin, eventId: r.event.id, type: r.event.type, userId: r.event.userId, time: new Date(r.event.time).toISOString(), attempts: r.attempts, firstAttemptAt: new Date(r.firstAttemptAt).toISOString(), lastAttemptAt: new Date(r.lastAttemptAt).toISOString(), lastError: r.lastError })}\n`);
          }
        }
        return 0;
      default: {
        let moved = 0;
        for (const ep of endpoints) {
          const n = await deliveries.replay(ep.id, arg === '--all' ? 'all' : [arg!], now());
          if (n > 0) out.write(`replaying ${n} delivery(ies) to ${ep.id} (${ep.origin})\n`);
          moved += n;
        }
        if (moved === 0) {
          err.write(arg === '--all' ? 'events: no failed deliveries\n' : `events: no failed delivery of event ${arg!.slice(0, 64)}\n`);
          return 1;
        }
        return 0;
      }
    }
  } catch (e) {
    err.write(`events: ${(e as Error).message}\n`);
    return 1;
  } finally {
    await stores.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exit(await runEventsCli(process.argv.slice(2), process.env, process.stdout, process.stderr));
}
