import { createCipheriv, createDecipheriv, hash } from 'node:crypto';
import { isRandomId, randomBase64url, randomBuffer } from './ids.js';

/**
 * Refresh tokens are opaque to clients: `<userId>.<sessionId>.<secret>`, where the secret is
 * 256 random bits. The ids only tell us which session record to read (one Redis key, no
 * token→session index to keep in sync); the secret is what proves possession.
 *
 * Only a hash of the whole token is stored (see hashRefreshToken). SHA-256 is enough here, unlike for passwords:
 * the input already has 256 bits of entropy, so there is nothing to brute-force and a slow
 * hash would only cost CPU on every refresh. Someone who can read Redis learns no token.
 * Hashes are compared inside a Lua script in Redis (src/store/redis/scripts/rotate-session.lua),
 * or by src/sessions/policy.ts in the embedded development store: they are hashes of 256-bit
 * secrets, so a timing difference reveals nothing usable about a token.
 */

const SECRET_BYTES = 32;
const MAX_LENGTH = 128;

export interface IssuedRefreshToken {
  token: string;
  hash: string;
}

export function issueRefreshToken(userId: string, sessionId: string): IssuedRefreshToken {
  const token = `${userId}.${sessionId}.${randomBase64url(SECRET_BYTES)}`;
  return { token, hash: hashRefreshToken(token) };
}

/**
 * SHA-256 cut to its first 192 bits (32 base64url characters). Finding a token that matches a
 * stored value still takes about 2^192 guesses, far beyond reach; the 22 bytes saved across
 * the two stored hashes (`rh`, `ph`) are what keep a session record, `lastSeenAt` included,
 * within 512 bytes of Redis memory (test/store/redis.test.ts measures it).
 */
const STORED_HASH_BYTES = 24;

export function hashRefreshToken(token: string): string {
  // One-shot `crypto.hash`: no Hash object per call (three SHA-256 per refresh; docs/benchmarks.md, round 2).
  return hash('sha256', token, 'buffer').subarray(0, STORED_HASH_BYTES).toString('base64url');
}

/** The ids a refresh token names, or null when it is not shaped like one of ours. */
export function parseRefreshToken(token: string): { userId: string; sessionId: string } | null {
  if (typeof token !== 'string' || token.length > MAX_LENGTH) return null;
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  const [userId, sessionId, secret] = parts as [string, string, string];
  if (!isRandomId(userId) || !isRandomId(sessionId) || !/^[A-Za-z0-9_-]{43}$/.test(secret)) return null;
  return { userId, sessionId };
}

/*
 * Grace box. A mobile client may lose the response to a refresh and retry with the token it
 * already spent. Within the grace period we must answer with the *same* successor (issuing a
 * second one would leave two live branches), yet we keep no token in clear. So the successor
 * is sealed with AES-256-GCM under a key derived from the token being spent: only someone who
 * holds that token can open it, and the sealed copy expires with the grace period.
 */
const GRACE_INFO = 'ag-refresh-grace-v1:';

function graceKey(presentedToken: string): Buffer {
  return hash('sha256', GRACE_INFO + presentedToken, 'buffer');
}

export function sealForGrace(nextToken: string, presentedToken: string): string {
  const iv = randomBuffer(12); // from the pooled CSPRNG bytes (./ids.ts): a fresh 96-bit IV per box
  const cipher = createCipheriv('aes-256-gcm', graceKey(presentedToken), iv);
  const body = Buffer.concat([cipher.update(nextToken, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
}

export function openGraceBox(box: string, presentedToken: string): string | null {
  try {
    const raw = Buffer.from(box, 'base64url');
    if (raw.length < 12 + 16 + 1) return null;
    const decipher = createDecipheriv('aes-256-gcm', graceKey(presentedToken), raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(raw.length - 16));
    return Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]).toString('utf8');
  } catch {
    return null;
  }
}
