import { beforeEach, describe, expect, it } from '@jest/globals';
import * as jose from 'jose';
import type { CryptoKey } from 'jose';
import { ServiceUnavailableError } from '../../src/errors.js';
import { RiscReceiver } from '../../src/risc/receiver.js';
import { EVENT_LEASE_MS } from '../../src/risc/policy.js';
import { SetVerifier } from '../../src/risc/set-verifier.js';
import { createMemoryStores, MemoryData } from '../../src/store/memory/index.js';
import type { AccountEvent } from '../../src/events/event.js';
import type { Stores } from '../../src/store/types.js';
import { FakeClock } from '../support/fake-google.js';
import { id, newSession, profile, write } from '../store/contract-fixtures.js';
import { signal } from '../support/signal.js';

/**
 * Claim-then-act (src/risc/receiver.ts) when things fail in between: an instance that dies
 * after claiming, a store failure while acting, a delivery racing one in progress. The store
 * is the embedded one with its expiry on a fake clock, so a lease runs out when the test says.
 */
const RISC = 'https://schemas.openid.net/secevent/risc/event-type/';
const ISSUER = 'https://accounts.google.com/';
const AUD = 'client.apps.googleusercontent.com';
let key: { privateKey: CryptoKey; publicKey: CryptoKey };
let clock: FakeClock;
let data: MemoryData;
let stores: Stores;
let jti = 0;

async function set(events: Record<string, unknown>, claims: Record<string, unknown> = {}): Promise<string> {
  return new jose.SignJWT({ events, jti: `j${++jti}`, ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
    .setIssuer(ISSUER)
    .setAudience(AUD)
    .setIssuedAt(Math.floor(clock.now() / 1000))
    .sign(key.privateKey);
}

/** A receiver on `s` (default: the shared store) whose waits move the fake clock instead of real time. */
function receiver(s: Stores = stores): RiscReceiver {
  const verifier = new SetVerifier({ keys: { getKeyOfSet: async () => ({ key: key.publicKey, issuer: ISSUER }) }, audiences: [AUD], now: clock.now });
  return new RiscReceiver({
    verifier,
    stores: s,
    count: () => undefined,
    log: { info: () => undefined, warn: () => undefined },
    now: clock.now,
    sleep: async (ms) => clock.advance(ms),
  });
}

/** A store whose security-event methods fail on demand (a Redis error mid-way). */
function failing(fail: { recordOnAccount?: number; settle?: number }): Stores {
  const inner = stores.securityEvents;
  return {
    ...stores,
    securityEvents: {
      state: (...a) => inner.state(...a),
      apply: (...a) => inner.apply(...a),
      recorded: (...a) => inner.recorded(...a),
      claim: (...a) => inner.claim(...a),
      async recordOnAccount(...a) {
        if ((fail.recordOnAccount ?? 0) > 0) {
          fail.recordOnAccount!--;
          throw new Error('connection lost');
        }
        return inner.recordOnAccount(...a);
      },
      async settle(...a) {
        if ((fail.settle ?? 0) > 0) {
          fail.settle!--;
          throw new Error('connection lost');
        }
        return inner.settle(...a);
      },
    },
  };
}

async function account(): Promise<{ uid: string; sub: string; sid: string }> {
  const uid = id();
  const sub = `sub-${uid}`;
  const session = newSession(clock.now());
  expect((await stores.accounts.writeSession(write(uid, session, { profile: profile(sub) }))).kind).toBe('written');
  expect((await stores.identities.link('google', sub, uid)).created).toBe(true);
  return { uid, sub, sid: session.id };
}

async function eventsOf(uid: string): Promise<AccountEvent[]> {
  return (await stores.events.read('0', 10_000)).map((e) => e.event).filter((e) => e.userId === uid);
}

const hijacked = (sub: string) => ({ [`${RISC}account-disabled`]: { subject: { subject_type: 'iss-sub', iss: ISSUER, sub }, reason: 'hijacking' } });

beforeEach(async () => {
  key ??= await jose.generateKeyPair('RS256');
  clock = new FakeClock();
  data = new MemoryData(clock.now);
  stores = createMemoryStores({ data });
});

describe('each event acts once, and at least once', () => {
  it('an instance that died after claiming: deliveries within its lease get 503, the retry after it acts', async () => {
    const { uid, sub, sid } = await account();
    const token = await set(hijacked(sub));
    // The "dead" instance claimed (its store call to act never came) and stopped: its settle fails too.
    await expect(receiver(failing({ recordOnAccount: 1, settle: 1 })).receive(token)).rejects.toBeInstanceOf(ServiceUnavailableError);
    expect((await stores.accounts.readSession(uid, sid)).session).not.toBeNull();

    // Google retries at once: another instance waits 5 s for the holder, then asks for a retry.
    await expect(receiver().receive(token)).rejects.toBeInstanceOf(ServiceUnavailableError);
    clock.advance(EVENT_LEASE_MS);
    await expect(receiver().receive(token)).resolves.toEqual({ status: 202, outcome: 'accepted' });
    expect((await stores.accounts.readSession(uid, sid)).session).toBeNull();
    // The identity's state was applied by the dead instance already: the account still gets its event, once.
    expect((await eventsOf(uid)).filter((e) => e.type === 'identity.locked')).toHaveLength(1);
    await expect(receiver().receive(token)).resolves.toEqual({ status: 202, outcome: 'duplicate' });
  });

  it('a store failure while acting releases the claim: 503, and Google’s retry acts at once', async () => {
    const { uid, sub } = await account();
    const token = await set(hijacked(sub));
    await expect(receiver(failing({ recordOnAccount: 1 })).receive(token)).rejects.toBeInstanceOf(ServiceUnavailableError);
    await expect(receiver().receive(token)).resolves.toEqual({ status: 202, outcome: 'accepted' });
    const events = await eventsOf(uid);
    expect(events.filter((e) => e.type === 'identity.locked')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'session.revoked')).toHaveLength(1);
    expect(await stores.securityEvents.recorded(uid)).toHaveLength(1);
  });

  it('a failure to mark it done leaves a lease: a duplicate within it waits, then acts again harmlessly', async () => {
    const { uid, sub } = await account();
    const token = await set(hijacked(sub));
    await expect(receiver(failing({ settle: 1 })).receive(token)).resolves.toEqual({ status: 202, outcome: 'accepted' });
    clock.advance(EVENT_LEASE_MS);
    await expect(receiver().receive(token)).resolves.toEqual({ status: 202, outcome: 'accepted' });
    const events = await eventsOf(uid);
    // Acting again changed nothing the account's events show: the lock was in place, the sessions ended.
    expect(events.filter((e) => e.type === 'identity.locked')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'session.revoked')).toHaveLength(1);
  });

  it('a delivery that finds the event in progress answers 202 once the holder is done, without acting', async () => {
    const { uid, sub } = await account();
    const token = await set(hijacked(sub));
    const gate = signal();
    const inner = stores.securityEvents;
    const wrap = (over: Partial<typeof inner>): Stores => ({ ...stores, securityEvents: Object.assign(Object.create(inner) as typeof inner, over) });
    const firstClaimed = signal();
    // The first instance claims the event and is held before acting on the account; the second
    // starts only once that claim is in (else it could claim first) and lets the first go once
    // it has found the event busy.
    const first = receiver(
      wrap({
        claim: async (...a) => {
          const got = await inner.claim(...a);
          firstClaimed.fire();
          return got;
        },
        recordOnAccount: async (...a) => (await gate.reached, inner.recordOnAccount(...a)),
      }),
    ).receive(token);
    await firstClaimed.reached;
    const second = receiver(
      wrap({
        claim: async (...a) => {
          const got = await inner.claim(...a);
          if (got === 'busy') gate.fire();
          return got;
        },
      }),
    ).receive(token);
    await expect(first).resolves.toEqual({ status: 202, outcome: 'accepted' });
    await expect(second).resolves.toEqual({ status: 202, outcome: 'duplicate' });
    expect((await eventsOf(uid)).filter((e) => e.type === 'session.revoked')).toHaveLength(1);
  });
});
