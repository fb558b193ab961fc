import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { keyLayout } from '../../src/store/keys.js';
import { createMemoryStores, MemoryData } from '../../src/store/memory/index.js';
import { decodeSession, decodeUser } from '../../src/store/redis/codec.js';
import { createRedisClient, createRedisStores, whenReady } from '../../src/store/redis/index.js';
import type { AccountState, Revocation, Stores } from '../../src/store/types.js';
import { uniquePrefix, usePrivateRedis } from '../support/env.js';
import { TWO_PER_MINUTE, newSession, profile, write } from './contract.js';
import { lastCursor } from '../events/helpers.js';
import type { AccountEvent } from '../../src/events/event.js';

/**
 * Random sequences of session operations (sign-in with and without `mustExist`, the cap and
 * the sign-in budget; rotation with the current, the previous or a wrong token at various
 * times, with and without the refresh budget; activity; revoking one, the others, all;
 * disabling, enabling, deleting) run through the Lua scripts on a real redis-server and
 * through the embedded store, which decides with src/sessions/policy.ts itself. After every
 * operation both must have answered the same and hold the same state: user record and
 * budget, every session's fields, hashes, budget and expiry, the session index, the grace
 * boxes, and have appended the same account events (src/events/policy.ts; ids aside, which are
 * random per step).
 *
 * Simulated time starts a day ahead of the real clock and only moves forward, so neither
 * Redis nor the embedded store expires anything by the real clock during a run: every ending
 * is decided by `now`, which both receive.
 */
const redis = usePrivateRedis();
const RUNS = 400;
const MIN = 60_000;

type Op =
  | { op: 'signIn'; user: number; dt: number; mustExist: boolean; maxSessions: number; limited: boolean }
  | { op: 'rotate'; user: number; session: number; token: 'current' | 'previous' | 'wrong'; dt: number; graceMs: number; limited: boolean }
  | { op: 'touch'; user: number; session: number; dt: number }
  | { op: 'revoke'; user: number; session: number; kind: Revocation['kind'] }
  | { op: 'account'; user: number; state: AccountState };

const user = fc.integer({ min: 0, max: 1 });
const session = fc.nat({ max: 7 });
const dt = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 15_000 }), fc.integer({ min: 15_000, max: 40 * MIN }));
const OPS: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('signIn' as const), user, dt, mustExist: fc.boolean(), maxSessions: fc.constantFrom(0, 1, 2, 3), limited: fc.boolean() }) },
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant('rotate' as const),
      user,
      session,
      token: fc.constantFrom('current' as const, 'previous' as const, 'wrong' as const),
      dt,
      graceMs: fc.constantFrom(0, 10_000),
      limited: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('touch' as const), user, session, dt }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('revoke' as const), user, session, kind: fc.constantFrom('session' as const, 'others' as const, 'all' as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('account' as const), user, state: fc.constantFrom('disabled' as const, 'enabled' as const, 'deleted' as const) }) },
);

/** What a run knows about a session it created: its id and its tokens' hashes. */
interface Known {
  id: string;
  current: string;
  previous: string | null;
}

describe('session primitives: Lua scripts and the policy agree on random operation sequences', () => {
  let redisStores: Stores;
  let raw: Redis;
  let prefix: string;
  beforeAll(async () => {
    prefix = uniquePrefix();
    const client = createRedisClient(redis.url);
    await whenReady(client);
    redisStores = createRedisStores({ client, keyPrefix: prefix, ownsClient: true });
    raw = new Redis(redis.url);
  });
  afterAll(async () => {
    await redisStores.close();
    raw.disconnect();
  });

  async function redisState(uid: string, sids: readonly string[]) {
    const k = keyLayout(prefix);
    const u = await raw.hgetall(k.user(uid));
    const index = await raw.zrange(k.sessionIndex(uid), 0, -1, 'WITHSCORES');
    const sessions = [];
    for (const sid of sids) {
      const h = await raw.hgetall(k.session(uid, sid));
      const record = decodeSession(uid, sid, h);
      const grace = await raw.get(k.grace(uid, sid));
      if (!record) {
        sessions.push({ sid, stored: null, grace });
        continue;
      }
      const expiry = Number(await raw.call('PEXPIRETIME', k.session(uid, sid)));
      const tat = h.rb === undefined ? null : Number(h.rt) + Number(h.rb);
      sessions.push({ sid, stored: { record, refreshHash: h.rh, previousHash: h.ph ?? null, refreshTat: tat, expiry }, grace });
    }
    return {
      user: decodeUser(uid, u),
      signInTat: u.sb === undefined ? null : Number(u.sb),
      index: pairs(index),
      sessions,
    };
  }

  function memoryState(data: MemoryData, uid: string, sids: readonly string[]) {
    const u = data.users.get(uid);
    return {
      user: u ? u.record : null,
      signInTat: u ? u.signInTat : null,
      index: [...(data.indexes.get(uid) ?? new Map<string, number>())].map(([sid, end]) => [sid, end] as [string, number]).sort(byFirst),
      sessions: sids.map((sid) => {
        const key = data.sessionKey(uid, sid);
        const s = data.sessions.get(key);
        const grace = data.grace.get(key) ?? null;
        if (!s) return { sid, stored: null, grace };
        return { sid, stored: { record: s.record, refreshHash: s.refreshHash, previousHash: s.previousHash, refreshTat: s.refreshTat, expiry: data.sessions.expiry(key) }, grace };
      }),
    };
  }

  it(`agree on ${RUNS} random sequences (outcomes and state after every operation)`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(OPS, { minLength: 1, maxLength: 40 }), async (ops) => {
        const data = new MemoryData();
        const memory = createMemoryStores({ data });
        const run = randomBytes(6).toString('base64url');
        const uids = [`${run}-user-0`, `${run}-user-1`];
        const known: Known[][] = [[], []];
        let now = Date.now() + 24 * 60 * MIN;
        let created = 0;
        // The Redis stream is shared by every run (one prefix): this run's events are those of its users.
        const cursors = new Map<Stores, string>([
          [redisStores, await lastCursor(redisStores)],
          [memory, '0'],
        ]);
        const newEvents = async (x: Stores): Promise<AccountEvent[]> => {
          const page = await x.events.read(cursors.get(x)!, 1000);
          if (page.length > 0) cursors.set(x, page[page.length - 1]!.cursor);
          return page.map((p) => p.event).filter((e) => uids.includes(e.userId));
        };
        const withoutIds = (events: AccountEvent[]) => events.map(({ id, ...rest }) => ({ ...rest, idShape: /^[A-Za-z0-9_-]{22}\.\d+$/.test(id) }));
        for (const op of ops) {
          const uid = uids[op.user]!;
          const mine = known[op.user]!;
          const pick = 'session' in op ? mine[op.session % Math.max(1, mine.length)] : undefined;
          const both = async <T>(call: (s: Stores) => Promise<T>): Promise<T> => {
            const [a, b] = [await call(redisStores), await call(memory)];
            expect(a).toEqual(b);
            expect(withoutIds(await newEvents(redisStores))).toEqual(withoutIds(await newEvents(memory)));
            return a;
          };
          switch (op.op) {
            case 'signIn': {
              now += op.dt;
              const s = newSession(now, { id: `${run}-s${created++}`, refreshHash: randomBytes(24).toString('base64url') });
              const w = write(uid, s, { profile: profile(`sub-${uid}`, { name: `n${created}` }), mustExist: op.mustExist, maxSessions: op.maxSessions, limit: op.limited ? TWO_PER_MINUTE : null });
              const got = await both((x) => x.accounts.writeSession(w));
              if (got.kind === 'written') mine.push({ id: s.id, current: s.refreshHash, previous: null });
              break;
            }
            case 'rotate': {
              if (!pick) break;
              now += op.dt;
              const presented = op.token === 'current' ? pick.current : op.token === 'previous' ? (pick.previous ?? 'none') : 'wrong-hash';
              const next = randomBytes(24).toString('base64url');
              const got = await both((x) =>
                x.accounts.rotateSession(uid, pick.id, { presentedHash: presented, nextHash: next, graceBox: `box-${next}`, now, graceMs: op.graceMs, refreshTtlMs: 30 * MIN, limit: op.limited ? TWO_PER_MINUTE : null }),
              );
              if (got.kind === 'rotated') [pick.previous, pick.current] = [pick.current, next];
              break;
            }
            case 'touch':
              if (!pick) break;
              now += op.dt;
              await both((x) => x.accounts.touchSession(uid, pick.id, now));
              break;
            case 'revoke': {
              const r: Revocation =
                op.kind === 'session' ? { kind: 'session', sessionId: pick?.id ?? 'none' } : op.kind === 'others' ? { kind: 'others', keep: pick?.id ?? 'none' } : { kind: 'all' };
              const reason = op.kind === 'session' ? 'revoked' : op.kind === 'others' ? 'sign_out_others' : 'sign_out_everywhere';
              await both((x) => x.accounts.endSessions(uid, r, { reason, now }));
              break;
            }
            case 'account':
              await both((x) => x.accounts.setAccountState(uid, op.state, now));
              break;
          }
          for (const [i, id] of uids.entries()) {
            const sids = known[i]!.map((s) => s.id);
            expect(await redisState(id, sids)).toEqual(memoryState(data, id, sids));
          }
          // Same reads through the contract, too.
          expect(await redisStores.accounts.listSessions(uid, now).then(sortById)).toEqual(await memory.accounts.listSessions(uid, now).then(sortById));
        }
      }),
      { numRuns: RUNS },
    );
  }, 120_000);
});

function pairs(flat: string[]): [string, number][] {
  const out: [string, number][] = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i]!, Number(flat[i + 1])]);
  return out.sort(byFirst);
}
const byFirst = (a: [string, number], b: [string, number]) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
const sortById = <T extends { id: string }>(list: T[]) => [...list].sort((a, b) => (a.id < b.id ? -1 : 1));
