/**
 * Operator commands on accounts, against the Redis of REDIS_URL (and REDIS_KEY_PREFIX):
 *
 *   npm run user -- disable <user-id>   sign-in refused (`account_disabled`), every session ends now
 *   npm run user -- enable <user-id>    sign-in works again (ended sessions stay ended)
 *   npm run user -- show <user-id>      the account and its live sessions, as JSON
 *
 * In the Docker image (no compiler): `node dist/users/user-cli.js disable <user-id>`.
 * Exit codes: 0 done, 1 unknown user or Redis trouble, 2 usage.
 */
import { ConfigError, loadConfig } from '../config/index.js';
import { isRandomId } from '../sessions/ids.js';
import { lastSeenAt } from '../sessions/policy.js';
import { liveSessions } from '../sessions/session-service.js';
import type { Redis } from 'ioredis';
import { createRedisClient, createRedisStores } from '../store/redis/index.js';
import type { Stores } from '../store/types.js';

const USAGE = 'usage: npm run user -- <disable|enable|show> <user-id>';
const CONNECT_TIMEOUT_MS = 5_000;

type Out = { write(s: string): unknown };

export async function runUserCli(argv: string[], env: NodeJS.ProcessEnv, out: Out, err: Out): Promise<number> {
  const [command, userId, ...rest] = argv;
  if (command === '--help' || command === '-h') {
    out.write(`${USAGE}\n`);
    return 0;
  }
  if (!command || !['disable', 'enable', 'show'].includes(command) || !userId || rest.length > 0) {
    err.write(`${USAGE}\n`);
    return 2;
  }
  if (!isRandomId(userId)) {
    err.write(`user: "${String(userId).slice(0, 64)}" is not a user id (22 characters of A-Z a-z 0-9 _ -)\n`);
    return 2;
  }
  let config;
  try {
    config = loadConfig(env);
  } catch (e) {
    err.write(`user: ${e instanceof ConfigError ? e.message : String(e)}\n`);
    return 1;
  }
  if (!config.redis.url) {
    err.write('user: REDIS_URL is not set (the embedded store lives inside a running development gateway and cannot be reached)\n');
    return 1;
  }

  const client = createRedisClient(config.redis.url);
  client.on('error', () => undefined); // ioredis would otherwise print every retry
  let stores: Stores | null = null;
  try {
    await connected(client);
    stores = createRedisStores({ client, keyPrefix: config.redis.keyPrefix, ownsClient: true });
    switch (command) {
      case 'disable':
      case 'enable': {
        const { found, sessionsEnded } = await stores.accounts.setAccountState(userId, command === 'disable' ? 'disabled' : 'enabled');
        if (!found) {
          err.write(`user: no user ${userId}\n`);
          return 1;
        }
        out.write(command === 'disable' ? `disabled user ${userId}; ended ${sessionsEnded} session(s)\n` : `enabled user ${userId}\n`);
        return 0;
      }
      default: {
        const [user] = await stores.accounts.getUsers([userId]);
        if (!user) {
          err.write(`user: no user ${userId}\n`);
          return 1;
        }
        const sessions = await liveSessions(stores.accounts, userId, Date.now());
        const iso = (t: number) => new Date(t).toISOString();
        out.write(
          `${JSON.stringify(
            {
              ...user,
              createdAt: iso(user.createdAt),
              lastSignInAt: iso(user.lastSignInAt),
              sessions: sessions.map((s) => ({
                id: s.id,
                createdAt: iso(s.createdAt),
                lastSeenAt: iso(lastSeenAt(s)),
                expiresAt: iso(Math.min(s.expiresAt, s.refreshExpiresAt)),
                userAgent: s.userAgent,
                clientAddress: s.clientAddress,
              })),
            },
            null,
            2,
          )}\n`,
        );
        return 0;
      }
    }
  } catch (e) {
    err.write(`user: Redis at ${redactUrl(config.redis.url)}: ${(e as Error).message}\n`);
    return 1;
  } finally {
    if (stores) await stores.close();
    else client.disconnect();
  }
}

/** Ready, or the first connection error: an operator command does not wait for Redis to come back. */
function connected(client: Redis): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${CONNECT_TIMEOUT_MS / 1000} s`)), CONNECT_TIMEOUT_MS);
    client.once('ready', () => {
      clearTimeout(timer);
      resolve();
    });
    client.once('error', (err: Error) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** A REDIS_URL may carry a password: never print it. */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(REDIS_URL)';
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await runUserCli(process.argv.slice(2), process.env, process.stdout, process.stderr);
}
