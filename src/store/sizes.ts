/**
 * Byte sizes of stored strings, shared by both stores so they return identical data.
 *
 * Redis keeps a hash in the compact listpack encoding only while every value is at most
 * `hash-max-listpack-value` bytes (64 by default); one longer value turns the whole hash into
 * a hashtable and about doubles its memory (test/store/redis.test.ts checks a realistic
 * session stays a listpack). So the Redis store keeps long strings in 64-byte pieces (`ua`, `ua1`, `ua2`, ...),
 * which works whatever the server's setting. Session metadata (user agent, client address:
 * display only, and sessions are the most numerous records) is also cut to
 * MAX_METADATA_BYTES; profile claims are never cut.
 */
export const LISTPACK_VALUE_BYTES = 64;
export const METADATA_CHUNKS = 4;
export const MAX_METADATA_BYTES = LISTPACK_VALUE_BYTES * METADATA_CHUNKS;

/** Splits `value` into UTF-8 pieces of ≤ `size` bytes (never inside a character), at most `max` pieces; the rest is dropped. */
export function utf8Chunks(value: string, max = Number.POSITIVE_INFINITY, size = LISTPACK_VALUE_BYTES): string[] {
  const out: string[] = [];
  let current = '';
  let bytes = 0;
  for (const ch of value) {
    const n = Buffer.byteLength(ch, 'utf8');
    if (bytes + n > size) {
      out.push(current);
      if (out.length === max) return out;
      current = '';
      bytes = 0;
    }
    current += ch;
    bytes += n;
  }
  out.push(current);
  return out;
}

/** Session metadata as stored: at most MAX_METADATA_BYTES of UTF-8, cut on a character boundary. */
export function boundedMetadata(value: string | null): string | null {
  return value === null ? null : utf8Chunks(value, METADATA_CHUNKS).join('');
}
