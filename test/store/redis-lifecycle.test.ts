import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { keyLayout } from '../../src/store/keys.js';
import { createRedisClient, createRedisStores, whenReady } from '../../src/store/redis/index.js';
import type { Stores } from '../../src/store/types.js';
import { uniquePrefix, usePrivateRedis } from '../support/env.js';
import { RETIRED_ID_TTL_MS } from '../../src/users/identity-policy.js';
import { AccountService } from '../../src/users/account-service.js';
import { hash, id, newSession, profile, rotation, write } from './contract.js';

/** What only Redis can show about the lifecycle operations: keys, TTLs, round trips. */
const redis = usePrivateRedis();

async function makeStores(prefix: string, url = redis.url): Promise<Stores> {
  const client = createRedisClient(url);
  await whenReady(client);
  return createRedisStores({ client, keyPrefix: prefix, ownsClient: true });
}

async function scan(raw: Redis, prefix: string): Promise<string[]> {
  const all: string[] = [];
  for (let cursor = '0'; ; ) {
    const [next, batch] = await raw.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    all.push(...batch);
    if ((cursor = next) === '0') break;
  }
  return all.sort();
}

describe('redis store: lifecycle keys', () => {
  let raw: Redis;
  let prefix: string;
  let stores: Stores;
  const k = () => keyLayout(prefix);

  beforeAll(async () => {
    raw = new Redis(redis.url);
    prefix = uniquePrefix();
    stores = await makeStores(prefix);
  });
  afterAll(async () => {
    await stores.close();
    raw.disconnect();
  });

  it('deleting an account leaves no key of the user behind but its retired-id marker, which expires within a day (SCAN of the prefix), and nobody else’s is touched', async () => {
    const now = Date.now();
    const keep = id();
    await stores.identities.link('google', `sub-${keep}`, keep);
    await stores.accounts.writeSession(write(keep, newSession(now)));
    const before = await scan(raw, prefix);

    const uid = id();
    await stores.identities.link('google', `sub-${uid}`, uid);
    const sessions = [newSession(now), newSession(now + 1), newSession(now + 2)];
    for (const s of sessions) await stores.accounts.writeSession(write(uid, s, { profile: profile(`sub-${uid}`, { name: 'n'.repeat(200) }) }));
    await stores.accounts.rotateSession(uid, sessions[0]!.id, rotation(now + 3, sessions[0]!.refreshHash)); // grace box
    await stores.accounts.touchSession(uid, sessions[1]!.id, now + 120_000);
    const during = await scan(raw, prefix);
    expect(during.filter((key) => !before.includes(key)).sort()).toEqual(
      [
        k().user(uid),
        k().accountIdentities(uid),
        k().identity('google', `sub-${uid}`),
        k().sessionIndex(uid),
        k().grace(uid, sessions[0]!.id),
        ...sessions.map((s) => k().session(uid, s.id)),
      ].sort(),
    );

    const deleted = await new AccountService(stores, { error: () => undefined }, Date.now).deleteAccount(uid);
    expect(deleted).toBe(true);
    expect(await scan(raw, prefix)).toEqual([...before, k().retired(uid)].sort());
    const ttl = await raw.pttl(k().retired(uid));
    expect(ttl).toBeGreaterThan(RETIRED_ID_TTL_MS - 60_000);
    expect(ttl).toBeLessThanOrEqual(RETIRED_ID_TTL_MS);
  });

  it('gives nonces and used-token records a TTL from their expiry; touching and ending sessions keep TTLs', async () => {
    const now = Date.now();
    const n = hash();
    const t = hash();
    await stores.singleUse.put('sign-in-nonce', n, now + 600_000, now);
    await stores.singleUse.put('used-id-token', t, now + 3_660_000, now);
    const near = (actual: number, expected: number) => {
      expect(actual).toBeGreaterThan(expected - 5_000);
      expect(actual).toBeLessThanOrEqual(expected);
    };
    near(await raw.pttl(k().nonce(n)), 600_000);
    near(await raw.pttl(k().usedIdToken(t)), 3_660_000);
    expect(await raw.get(k().nonce(n))).toBe(String(now + 600_000));

    const uid = id();
    const a = newSession(now, { refreshExpiresAt: now + 3_600_000 });
    const b = newSession(now + 1, { refreshExpiresAt: now + 7_200_000 });
    await stores.accounts.writeSession(write(uid, a));
    await stores.accounts.writeSession(write(uid, b));
    await stores.accounts.touchSession(uid, a.id, now + 60_000);
    near(await raw.pttl(k().session(uid, a.id)), 3_600_000);
    await stores.accounts.endSessions(uid, { kind: 'others', keep: a.id }, { reason: 'sign_out_others', now: Date.now() });
    near(await raw.pttl(k().sessionIndex(uid)), 7_200_000); // never without a TTL
    expect(await raw.exists(k().session(uid, b.id))).toBe(0);
    await stores.accounts.setAccountState(uid, 'disabled', Date.now());
    expect(await raw.exists(k().sessionIndex(uid))).toBe(0); // last entry gone: the index key goes with it
    expect(await raw.pttl(k().user(uid))).toBe(-1); // the user record stays durable
  });

  it('keeps the session index at the cap however many sign-ins happen', async () => {
    const now = Date.now();
    const uid = id();
    for (let i = 0; i < 30; i++) await stores.accounts.writeSession(write(uid, newSession(now + i), { maxSessions: 5 }));
    expect(await raw.zcard(k().sessionIndex(uid))).toBe(5);
    expect((await scan(raw, prefix)).filter((key) => key.startsWith(k().session(uid, '')))).toHaveLength(5);
  });
});
