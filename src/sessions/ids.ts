import { randomFillSync } from 'node:crypto';

/**
 * Random bytes from the CSPRNG, drawn 4 KB at a time and handed out in slices: each
 * `randomBytes` call is a trip into the kernel's RNG, a slice is a copy, and a sign-in takes
 * three or four of them (measured in docs/benchmarks.md, change 4). Every byte is used once;
 * this is what Node's own `crypto.randomUUID()` does with its entropy cache.
 */
const POOL_BYTES = 4096;
const pool = Buffer.allocUnsafe(POOL_BYTES);
let offset = POOL_BYTES;

/** `bytes` random bytes (at most 4096), base64url without padding. */
export function randomBase64url(bytes: number): string {
  return take(bytes, (start, end) => pool.toString('base64url', start, end));
}

/** `bytes` random bytes (at most 4096), as a Buffer of its own (e.g. an IV). */
export function randomBuffer(bytes: number): Buffer {
  return take(bytes, (start, end) => Buffer.from(pool.subarray(start, end)));
}

function take<T>(bytes: number, read: (start: number, end: number) => T): T {
  if (!Number.isInteger(bytes) || bytes < 1 || bytes > POOL_BYTES) throw new RangeError(`random bytes: 1 to ${POOL_BYTES}, not ${bytes}`);
  if (offset + bytes > POOL_BYTES) {
    randomFillSync(pool);
    offset = 0;
  }
  const out = read(offset, offset + bytes);
  // Wiped once handed out: the pool holds no secret that is already in use (e.g. in a heap dump).
  pool.fill(0, offset, offset + bytes);
  offset += bytes;
  return out;
}

/** 128 random bits, base64url (22 chars): user ids, session ids, key ids. Unguessable, URL- and key-safe. */
export function randomId(): string {
  return randomBase64url(16);
}

const ID_RE = /^[A-Za-z0-9_-]{22}$/;
export function isRandomId(value: unknown): value is string {
  return typeof value === 'string' && ID_RE.test(value);
}
