import { randomId } from '../../sessions/ids.js';
import type { ClaimDecision, IdentitySecurity, SecurityChange } from '../../risc/policy.js';
import { UNLOCKED_STATE_KEEP_MS } from '../../risc/policy.js';
import { providerName, type KeyLayout } from '../keys.js';
import { RECORDED_SECURITY_EVENTS, RECORDED_SECURITY_EVENTS_KEEP_MS, type AccountSecurityWrite, type RecordedSecurityEvent, type SecurityEventStore } from '../types.js';
import type { RedisClient } from './client.js';
import type { RedisEventLog } from './event-relay.js';
import { runScript, SCRIPTS } from './lua.js';
import { assertTime } from './codec.js';

/**
 * Google Cross-Account Protection's records in Redis. Each method is one script in one slot:
 * the identity's state in its link's slot (identity-security.lua), the account's action in
 * its `{uid}` slot (account-security.lua), an event's delivery record on its own
 * (event-claim.lua, event-settle.lua). src/risc/policy.ts decides; the scripts mirror it.
 */
export class RedisSecurityEventStore implements SecurityEventStore {
  constructor(
    private readonly client: RedisClient,
    private readonly keys: KeyLayout,
    private readonly events: RedisEventLog,
  ) {}

  async state(provider: string, subject: string): Promise<IdentitySecurity | null> {
    const h = await this.client.hgetall(this.keys.identitySecurity(provider, subject));
    if (!h || Object.keys(h).length === 0) return null;
    const lk = h.lk;
    return { locked: lk === 'hijacking' || lk === 'disabled' ? lk : null, changedAt: Number(h.ca ?? 0), notBefore: Number(h.nb ?? 0) };
  }

  async apply(provider: string, subject: string, change: SecurityChange): Promise<{ state: IdentitySecurity; changed: 'locked' | 'unlocked' | null }> {
    const [changed, lk, ca, nb] = (await runScript(this.client, SCRIPTS.identitySecurity, {
      keys: { security: this.keys.identitySecurity(provider, subject) },
      args: { kind: change.kind, reason: change.kind === 'lock' ? change.reason : '', at: Math.floor(change.at), keepMs: UNLOCKED_STATE_KEEP_MS },
    })) as [string, string, number, number];
    return {
      state: { locked: lk === 'hijacking' || lk === 'disabled' ? lk : null, changedAt: Number(ca), notBefore: Number(nb) },
      changed: changed === 'locked' || changed === 'unlocked' ? changed : null,
    };
  }

  async recordOnAccount(userId: string, w: AccountSecurityWrite): Promise<{ found: boolean; sessionsEnded: number }> {
    const target = this.events.target(userId);
    const [found, ended, appended] = (await runScript(this.client, SCRIPTS.accountSecurity, {
      keys: {
        user: this.keys.user(userId),
        index: this.keys.sessionIndex(userId),
        identities: this.keys.accountIdentities(userId),
        record: this.keys.securityEvents(userId),
        events: target.key,
      },
      args: {
        provider: providerName(w.provider),
        subject: w.subject,
        endSessions: w.endSessions ? '1' : '0',
        lock: w.lock ?? '',
        entry: JSON.stringify(w.entry),
        keep: RECORDED_SECURITY_EVENTS,
        recordTtlMs: RECORDED_SECURITY_EVENTS_KEEP_MS,
        now: assertTime('now', w.now),
        sessionPrefix: this.keys.session(userId, ''),
        gracePrefix: this.keys.grace(userId, ''),
        userId,
        eventId: randomId(),
        eventsRetentionMs: target.retentionMs,
      },
    })) as [number, number, number];
    this.events.appended(userId, appended);
    return { found: found === 1, sessionsEnded: ended };
  }

  async recorded(userId: string): Promise<RecordedSecurityEvent[]> {
    const raw = await this.client.lrange(this.keys.securityEvents(userId), 0, -1);
    const out: RecordedSecurityEvent[] = [];
    for (const line of raw) {
      try {
        out.push(JSON.parse(line) as RecordedSecurityEvent);
      } catch {
        // Written by us as JSON; an unreadable entry is skipped rather than hiding the others.
      }
    }
    return out;
  }

  async claim(eventKey: string, lease: string, leaseMs: number): Promise<ClaimDecision> {
    const reply = await runScript(this.client, SCRIPTS.eventClaim, { keys: { record: this.keys.riscEvent(eventKey) }, args: { lease, leaseMs: Math.ceil(leaseMs) } });
    if (reply !== 'claimed' && reply !== 'done' && reply !== 'busy') throw new Error(`event-claim: unexpected reply ${String(reply)}`);
    return reply;
  }

  async settle(eventKey: string, lease: string, outcome: 'done' | 'release', keepMs: number): Promise<boolean> {
    const reply = await runScript(this.client, SCRIPTS.eventSettle, { keys: { record: this.keys.riscEvent(eventKey) }, args: { lease, outcome, keepMs: Math.ceil(keepMs) } });
    return reply === 1;
  }
}
