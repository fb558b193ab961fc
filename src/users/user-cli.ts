/**
 * Operator commands on accounts, against the gateway's Redis: the same configuration as the
 * gateway (REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES, and REDIS_KEY_PREFIX), read by
 * the same config sections and connected by the same store factory:
 *
 *   npm run user -- disable <user-id>   sign-in refused (`account_disabled`), every session ends now
 *   npm run user -- enable <user-id>    sign-in works again (ended sessions stay ended)
 *   npm run user -- show <user-id>      the account, its identities (with their security state from
 *                                       Google Cross-Account Protection), its live sessions and
 *                                       its recorded security events, as JSON
 *
 * In the Docker image (no compiler): `node dist/users/user-cli.js disable <user-id>`.
 * Exit codes: 0 done, 1 unknown user or Redis trouble, 2 usage.
 */
import { loadConfigForCli, type RedisTopology } from '../config/index.js';
import { isRandomId } from '../sessions/ids.js';
import { lastSeenAt } from '../sessions/policy.js';
import { liveSessions } from '../sessions/session-service.js';
import { createStores } from '../store/index.js';

const USAGE = 'usage: npm run user -- <disable|enable|show> <user-id>';

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
  const config = loadConfigForCli('user', env, err);
  if (!config) return 1;
  const topology = config.redis.topology;
  if (!topology) {
    err.write('user: no Redis is configured: set REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES as for the gateway (the embedded store lives inside a running development gateway and cannot be reached)\n');
    return 1;
  }

  // The client connects (and retries) in the background; its first connection error explains a failed ping.
  let connectionError = '';
  const remember = (obj: object) => {
    const { redisError, node } = obj as { redisError?: string; node?: string };
    connectionError ||= node ? `node ${node}: ${redisError}` : String(redisError);
  };
  const stores = createStores(config, { observe: { log: { warn: remember, info: () => undefined } } });
  try {
    try {
      // Ready within the ping's short wait, or give up: an operator command does not wait for Redis to come back.
      await stores.ping();
    } catch (e) {
      throw new Error(connectionError || (e as Error).message);
    }
    switch (command) {
      case 'disable':
      case 'enable': {
        const { found, sessionsEnded } = await stores.accounts.setAccountState(userId, command === 'disable' ? 'disabled' : 'enabled', Date.now());
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
        const [identities = []] = await stores.accounts.getIdentities([userId]);
        const security = await Promise.all(identities.map((i) => stores.securityEvents.state(i.provider, i.subject)));
        const recorded = await stores.securityEvents.recorded(userId);
        const iso = (t: number) => new Date(t).toISOString();
        const isoS = (s: number) => (s > 0 ? iso(s * 1000) : null);
        out.write(
          `${JSON.stringify(
            {
              ...user,
              createdAt: iso(user.createdAt),
              lastSignInAt: iso(user.lastSignInAt),
              identities: identities.map((i, n) => {
                const state = security[n];
                // The provider's lock and the time before which its ID tokens are refused (src/risc/policy.ts).
                return { ...i, linkedAt: iso(i.linkedAt), locked: state?.locked ?? null, tokensRefusedBefore: state ? isoS(state.notBefore) : null };
              }),
              sessions: sessions.map((s) => ({
                id: s.id,
                createdAt: iso(s.createdAt),
                lastSeenAt: iso(lastSeenAt(s)),
                expiresAt: iso(Math.min(s.expiresAt, s.refreshExpiresAt)),
                userAgent: s.userAgent,
                clientAddress: s.clientAddress,
              })),
              securityEvents: recorded.map((e) => ({ ...e, issuedAt: iso(e.issuedAt * 1000), receivedAt: iso(e.receivedAt) })),
            },
            null,
            2,
          )}\n`,
        );
        return 0;
      }
    }
  } catch (e) {
    err.write(`user: Redis (${describe(topology)}): ${(e as Error).message}\n`);
    return 1;
  } finally {
    await stores.close();
  }
}

/** Where the command looked for Redis, for its error messages: never a password. */
function describe(topology: RedisTopology): string {
  const list = (nodes: readonly { host: string; port: number }[]) => nodes.map(({ host, port }) => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`)).join(',');
  switch (topology.kind) {
    case 'standalone':
      return redactUrl(topology.url);
    case 'sentinel':
      return `Sentinels ${list(topology.sentinels)}, master ${topology.name}`;
    case 'cluster':
      return `Cluster ${list(topology.nodes)}`;
  }
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
  // Exit now: a command the client gave up on may keep a timer alive for a while after close.
  // (stdout and stderr are synchronous for files, pipes and terminals on Linux: nothing is lost.)
  process.exit(await runUserCli(process.argv.slice(2), process.env, process.stdout, process.stderr));
}
